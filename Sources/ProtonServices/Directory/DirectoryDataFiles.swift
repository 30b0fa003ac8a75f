import Foundation
import ProtonCrypto
import ProtonDirectory

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The files of a directory's data directory, besides its databases:
///
/// - `directory.json`: the namespace the directory was created for. A data directory serves one
///   namespace for life: its log and key name are that namespace's.
/// - `directory-key`: the Ed25519 seed (32 raw bytes, mode 0600) that signs attestations and
///   checkpoints. Clients pin its public half; losing it ends the directory.
/// - `directory.lock`: held (flock) across every change, so `proton serve directory` and the
///   operator's `proton directory approve` never interleave a check and an append.
enum DirectoryDataFiles {
    static let settingsFileName = "directory.json"
    static let keyFileName = "directory-key"
    static let lockFileName = "directory.lock"

    struct Settings: Codable, Equatable {
        var namespace: String
        var created: Date
        /// The PostgreSQL database's id for this directory, once it ran on one
        /// (`PostgresDirectoryStorage`); absent: its log is `log.sqlite` here.
        var database: String?
    }

    /// Ties the data directory to the storage its log is in: `log.sqlite` beside it, or one
    /// PostgreSQL database (`databaseID`), never both, or its key would sign two logs (a fork
    /// every client and witness would see). The first start on PostgreSQL records the
    /// database, and is refused if `log.sqlite` holds statements already: a log does not move
    /// by pointing its directory at an empty database.
    static func checkStorage(in directory: URL, databaseID: String?) throws {
        let url = directory.appendingPathComponent(settingsFileName)
        var settings = try readSettings(url)
        switch (settings.database, databaseID) {
        case (nil, nil):
            return
        case (.some, nil):
            throw DataDirectoryError(
                path: directory.path, reason: "its directory keeps its log in PostgreSQL: start it with its --database (or PROTON_DATABASE)")
        case (.some(let recorded), .some(let id)):
            guard recorded == id else {
                throw DataDirectoryError(path: directory.path, reason: "its directory keeps its log in another PostgreSQL database")
            }
        case (nil, .some(let id)):
            let log = directory.appendingPathComponent(SQLiteDirectoryStorage.logFileName).path
            if FileManager.default.fileExists(atPath: log), try SQLiteTransparencyLog(path: log).size() > 0 {
                throw DataDirectoryError(
                    path: directory.path, reason: "its directory's log is in SQLite (log.sqlite); a log cannot move to a new database")
            }
            settings.database = id
            try replace(url.path, with: encoder.encode(settings))
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    private static func readSettings(_ url: URL) throws -> Settings {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = FileManager.default.contents(atPath: url.path), let settings = try? decoder.decode(Settings.self, from: data) else {
            throw DataDirectoryError(path: url.path, reason: "it is not a directory settings file")
        }
        return settings
    }

    /// The namespace recorded in `directory`; with `namespace`, records it on first use and
    /// refuses another one later.
    static func namespace(in directory: URL, requested namespace: String?, now: Date) throws -> String {
        // The operator's commands (no namespace) must not create a directory from a typo.
        if namespace != nil { try DataDirectory.prepare(directory) }
        let url = directory.appendingPathComponent(settingsFileName)
        if FileManager.default.fileExists(atPath: url.path) {
            let settings = try readSettings(url)
            if let namespace, namespace != settings.namespace {
                throw DataDirectoryError(
                    path: directory.path, reason: "it holds the directory of \(settings.namespace), not \(namespace)")
            }
            return settings.namespace
        }
        guard let namespace else {
            throw DataDirectoryError(path: directory.path, reason: "no directory was started there (no \(settingsFileName))")
        }
        guard DirectoryNames.isValidNamespace(namespace) else {
            throw DataDirectoryError(path: directory.path, reason: "\(namespace) is not a lowercase DNS name")
        }
        let data = try encoder.encode(Settings(namespace: namespace, created: now))
        try writeExclusive(data, to: url.path)
        return namespace
    }

    /// The directory's signing key, created on first use.
    static func loadOrCreateKey(in directory: URL, name: String) throws -> DirectoryKey {
        try DirectoryKey(name: name, privateKey: loadOrCreateSeed(in: directory, fileName: keyFileName))
    }

    /// An Ed25519 key kept as its 32-byte seed in `fileName` (mode 0600), created on first use.
    static func loadOrCreateSeed(in directory: URL, fileName: String) throws -> Ed25519.PrivateKey {
        let path = directory.appendingPathComponent(fileName).path
        if !FileManager.default.fileExists(atPath: path) {
            var seed = SystemRandom().bytes(Ed25519.seedByteCount)
            defer { for index in seed.indices { seed[index] = 0 } }
            do { try writeExclusive(Data(seed), to: path) } catch let error as DataDirectoryError where FileManager.default.fileExists(atPath: path) {
                // Another process created it first: use theirs.
                _ = error
            }
        }
        // Like ssh with a private key: refuse one that others could have read.
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        guard mode & 0o077 == 0 else {
            throw DataDirectoryError(path: path, reason: "the key is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        var seed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        defer { for index in seed.indices { seed[index] = 0 } }
        guard seed.count == Ed25519.seedByteCount else {
            throw DataDirectoryError(path: path, reason: "the key must be \(Ed25519.seedByteCount) bytes")
        }
        return try Ed25519.PrivateKey(seed: &seed)
    }

    /// Written beside `path` (0600, fsynced), then renamed over it: never half a file.
    private static func replace(_ path: String, with data: Data) throws {
        let temporary = path + ".new"
        unlink(temporary)
        try writeExclusive(data, to: temporary)
        guard rename(temporary, path) == 0 else { throw DataDirectoryError(path: path, reason: String(cString: strerror(errno))) }
    }

    /// O_EXCL, 0600, fsynced: a key or settings file is written once and never half.
    private static func writeExclusive(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw DataDirectoryError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw DataDirectoryError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

/// An exclusive advisory lock on a file (flock), held for the duration of `body`. It serialises
/// the directory's changes between processes; inside one process `SQLiteDirectoryStorage` also
/// holds its own exclusion, because flock locks belong to the open file, not the thread.
final class DirectoryFileLock: @unchecked Sendable {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw DataDirectoryError(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit { close(descriptor) }

    func withLock<T>(_ body: () throws -> T) throws -> T {
        try lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for the lock; every `lock()` is followed by one `unlock()`.
    func lock() throws {
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DataDirectoryError(path: "directory.lock", reason: String(cString: strerror(errno))) }
        }
    }

    func unlock() {
        _ = flock(descriptor, LOCK_UN)
    }
}
