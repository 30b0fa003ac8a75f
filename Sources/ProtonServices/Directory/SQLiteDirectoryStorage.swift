import Foundation
import GRDB
import ProtonCrypto
import ProtonDirectory

/// `DirectoryStorage` in a data directory, shared by `proton serve directory` and the operator's
/// commands (`proton directory approve|allow`), which may run at the same time on it.
///
/// The transparency log (`log.sqlite`) is the source of truth for bindings. `directory.sqlite`
/// keeps what is not logged (pending registrations, the allowlist, request nonces) and an index
/// of each name's latest log entry, which is a function of the log: `reconcile()` folds in any
/// leaves past the index's recorded size, so a crash between an append and its index update
/// loses nothing. A change runs under an in-process exclusion and a file lock (`directory.lock`)
/// and reconciles first.
public final class SQLiteDirectoryStorage: DirectoryStorage {
    public static let databaseFileName = "directory.sqlite"
    public static let logFileName = "log.sqlite"

    let log: SQLiteTransparencyLog
    private let namespace: String
    private let pool: DatabasePool
    private let fileLock: DirectoryFileLock
    /// This process's changes, one at a time (the file lock keeps them apart from other processes').
    private let exclusion = AsyncLimiter(width: 1, maximumWaiting: .max)

    /// Opens the storage of the directory of `namespace` in `dataDirectory`.
    public init(dataDirectory: URL, namespace: String) throws {
        self.namespace = namespace
        fileLock = try DirectoryFileLock(path: dataDirectory.appendingPathComponent(DirectoryDataFiles.lockFileName).path)
        pool = try ServiceDatabase.open(
            directory: dataDirectory, fileName: Self.databaseFileName, label: "ProtonDirectory", migrator: Self.migrator)
        let logPath = dataDirectory.appendingPathComponent(Self.logFileName).path
        try DataDirectory.createPrivateFile(logPath)
        log = try SQLiteTransparencyLog(path: logPath)
        try fileLock.withLock { try reconcile() }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 directory") { db in
            try db.execute(
                sql: """
                    CREATE TABLE binding (
                        name TEXT PRIMARY KEY NOT NULL,
                        identity_key BLOB NOT NULL CHECK (length(identity_key) = 32),
                        state TEXT NOT NULL CHECK (state IN ('attested', 'revoked')),
                        log_index INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE indexed (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        log_size INTEGER NOT NULL
                    );
                    INSERT INTO indexed (id, log_size) VALUES (1, 0);
                    CREATE TABLE pending (
                        name TEXT PRIMARY KEY NOT NULL,
                        identity_key BLOB NOT NULL CHECK (length(identity_key) = 32),
                        requested_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE allowed (
                        name TEXT PRIMARY KEY NOT NULL,
                        identity_key BLOB CHECK (identity_key IS NULL OR length(identity_key) = 32),
                        added_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE nonce (
                        nonce BLOB PRIMARY KEY NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX nonce_expiry ON nonce (expires_at);
                    """)
        }
        return migrator
    }

    // MARK: - Reading

    public func leaf(at index: UInt64) throws -> [UInt8] { try log.leaf(at: index) }

    public func inclusionProof(index: UInt64, size: UInt64) throws -> InclusionProof {
        try log.inclusionProof(index: index, size: size)
    }

    public func consistencyProof(from: UInt64, to: UInt64) throws -> ConsistencyProof {
        try log.consistencyProof(from: from, to: to)
    }

    public func checkpoint(origin: String) throws -> Checkpoint { try log.checkpoint(origin: origin) }

    public func binding(_ name: String) throws -> DirectoryRegistry.Binding? {
        try pool.read { db in try Self.binding(name, db) }
    }

    public func pending() throws -> [DirectoryRegistry.PendingRegistration] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, identity_key, requested_at FROM pending ORDER BY requested_at, name").map { row in
                DirectoryRegistry.PendingRegistration(
                    name: row["name"], identityKey: try Self.key(row["identity_key"]),
                    requested: Date(timeIntervalSince1970: TimeInterval(row["requested_at"] as Int64)))
            }
        }
    }

    public func recordNonce(_ nonce: [UInt8], expires: Date, now: Date) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM nonce WHERE expires_at < ?", arguments: [Int64(now.timeIntervalSince1970)])
            try db.execute(
                sql: "INSERT OR IGNORE INTO nonce (nonce, expires_at) VALUES (?, ?)",
                arguments: [Data(nonce), Int64(expires.timeIntervalSince1970)])
            return db.changesCount == 1
        }
    }

    // MARK: - Changing

    public func change<T: Sendable>(_ body: @escaping @Sendable (any DirectoryChange) async throws -> T) async throws -> T {
        try await exclusion.run {
            // flock belongs to the open file, not the thread: the exclusion above keeps this
            // process's changes apart, the file lock keeps them apart from other processes'.
            try fileLock.lock()
            defer { fileLock.unlock() }
            try reconcile()
            return try await body(Change(storage: self))
        }
    }

    public func close() {
        ServiceDatabase.close(pool)
        log.close()
    }

    private struct Change: DirectoryChange {
        let storage: SQLiteDirectoryStorage

        func binding(_ name: String) throws -> DirectoryRegistry.Binding? { try storage.binding(name) }

        func leaf(at index: UInt64) throws -> [UInt8] { try storage.log.leaf(at: index) }

        func allowance(_ name: String) throws -> DirectoryAllowance? {
            try storage.pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT identity_key FROM allowed WHERE name = ?", arguments: [name]) else {
                    return nil
                }
                return try (row["identity_key"] as Data?).map { .only(try SQLiteDirectoryStorage.key($0)) } ?? .anyKey
            }
        }

        func allow(_ name: String, _ allowance: DirectoryAllowance, now: Date) throws {
            try storage.pool.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO allowed (name, identity_key, added_at) VALUES (?, ?, ?)",
                    arguments: [name, allowance.pinnedKey.map { Data($0.rawRepresentation) }, Int64(now.timeIntervalSince1970)])
            }
        }

        func pendingKey(_ name: String) throws -> Ed25519.PublicKey? {
            try storage.pool.read { db in
                try Data.fetchOne(db, sql: "SELECT identity_key FROM pending WHERE name = ?", arguments: [name]).map(SQLiteDirectoryStorage.key)
            }
        }

        func pendingCount() throws -> Int {
            try storage.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM pending") ?? 0 }
        }

        func addPending(_ name: String, identityKey: Ed25519.PublicKey, now: Date) throws {
            try storage.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO pending (name, identity_key, requested_at) VALUES (?, ?, ?)",
                    arguments: [name, Data(identityKey.rawRepresentation), Int64(now.timeIntervalSince1970)])
            }
        }

        func removePending(_ name: String) throws -> Bool {
            try storage.pool.write { db in
                try db.execute(sql: "DELETE FROM pending WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        }

        /// The log first, then the index: a crash between the two is repaired by the next
        /// `reconcile()`, which indexes the leaf from its own content.
        func append(_ binding: DirectoryRegistry.Binding, statement: @escaping @Sendable (UInt64) throws -> [UInt8]) throws -> UInt64 {
            let index = try storage.log.append { index in [try statement(index)] }
            try storage.reconcile()
            return index
        }
    }

    // MARK: - Internals

    /// Folds the leaves the index has not seen into it, in one transaction.
    private func reconcile() throws {
        let logSize = try log.size()
        try pool.write { db in
            let indexed = UInt64(try Int64.fetchOne(db, sql: "SELECT log_size FROM indexed WHERE id = 1") ?? 0)
            guard indexed < logSize else { return }
            for index in indexed..<logSize {
                let attestation = try Attestation(decoding: log.leaf(at: index))
                guard attestation.logIndex == index, attestation.namespace == namespace else {
                    throw TransparencyLogError.corrupted("leaf \(index) is not this directory's statement for that index")
                }
                try db.execute(
                    sql: "INSERT OR REPLACE INTO binding (name, identity_key, state, log_index) VALUES (?, ?, ?, ?)",
                    arguments: [
                        attestation.name, Data(attestation.identityKey.rawRepresentation),
                        attestation.kind == .revocation ? "revoked" : "attested", Int64(index),
                    ])
            }
            try db.execute(sql: "UPDATE indexed SET log_size = ? WHERE id = 1", arguments: [Int64(logSize)])
        }
    }

    private static func binding(_ name: String, _ db: Database) throws -> DirectoryRegistry.Binding? {
        guard let row = try Row.fetchOne(db, sql: "SELECT identity_key, state, log_index FROM binding WHERE name = ?", arguments: [name])
        else { return nil }
        return DirectoryRegistry.Binding(
            name: name, identityKey: try key(row["identity_key"]), revoked: (row["state"] as String) == "revoked",
            logIndex: UInt64(row["log_index"] as Int64))
    }

    private static func key(_ data: Data) throws -> Ed25519.PublicKey {
        try Ed25519.PublicKey(rawRepresentation: [UInt8](data))
    }
}
