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
        // SQLite writes its header with the first transaction, so a database that ever ran is
        // never empty; an empty one was truncated or replaced. Starting on it would look like
        // a service that lost nothing.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0,
            ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int ?? 0) == 0
        {
            throw ServiceDatabaseError.empty(path: path)
        }
        try DataDirectory.createPrivateFile(path)
        var configuration = Configuration()
        configuration.label = label
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Acknowledged and expired ciphertexts should not linger in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            let check = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            guard check == ["ok"] else { throw ServiceDatabaseError.damaged(path: path, reason: check.prefix(3).joined(separator: "; ")) }
        } catch let error as DatabaseError {
            throw ServiceDatabaseError.damaged(path: path, reason: "\(error.resultCode)")
        }
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

extension ServiceDatabase {
    /// Moves everything in the WAL into the main file and truncates the WAL, then closes: after
    /// a clean stop the main file alone is the whole database (a copy of it is a backup).
    static func close(_ pool: DatabasePool) {
        _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try? pool.close()
    }
}

/// A service's database cannot be used as it is; the service does not start.
public enum ServiceDatabaseError: Error, CustomStringConvertible {
    case empty(path: String)
    case damaged(path: String, reason: String)

    public var description: String {
        switch self {
        case .empty(let path):
            "\(path) is empty, so it was truncated or replaced: a service's database never is once it has run. Restore it from a backup, or delete it to start with no data."
        case .damaged(let path, let reason):
            "\(path) is not a readable SQLite database or fails its check (\(reason)). Restore it from a backup; see docs/deployment.md."
        }
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
