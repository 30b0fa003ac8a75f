import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opens a service's SQLite database: WAL, a busy timeout, the directory 0700 and the files
/// 0600 (they hold ciphertexts, and the receiving service's directory holds its private key).
enum ServiceDatabase {
    static func open(directory: URL, fileName: String, label: String, migrator: DatabaseMigrator) throws -> DatabasePool {
        try DataDirectory.prepare(directory)
        let path = directory.appendingPathComponent(fileName).path
        try DataDirectory.createPrivateFile(path)
        var configuration = Configuration()
        configuration.label = label
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Acknowledged and expired ciphertexts should not linger in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB opens WAL databases with synchronous = NORMAL: a commit survives the process
        // crashing but not the machine losing power (the WAL is only synced at checkpoints).
        // A 202 tells the sender it may forget the message, so a commit here must survive both:
        // FULL syncs the WAL at every commit. Group commit (`GroupCommit`) shares that sync
        // between the requests that arrive together. Only the writer connection commits.
        try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try migrator.migrate(pool)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            _ = chmod(path + suffix, 0o600)
        }
        return pool
    }
}

/// A service's data directory and the private files in it.
enum DataDirectory {
    static func prepare(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Creates `path` with mode 0600 if it is missing, whatever the umask.
    static func createPrivateFile(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw DataDirectoryError(path: path, reason: String(cString: strerror(errno))) }
        close(descriptor)
    }
}

public struct DataDirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String

    public var description: String { "Cannot use \(path): \(reason)." }
}
