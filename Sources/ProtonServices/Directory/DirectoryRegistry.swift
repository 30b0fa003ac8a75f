import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// The directory's state and every change to it, shared by the service and the operator's
/// commands (`proton directory approve|allow`), which may run at the same time on one data
/// directory.
///
/// The transparency log (`log.sqlite`) is the source of truth for bindings. `directory.sqlite`
/// keeps what is not logged (pending registrations, the allowlist, request nonces) and an index
/// of each name's latest log entry, which is a function of the log: `reconcile()` folds in any
/// leaves past the index's recorded size, so a crash between an append and its index update
/// loses nothing. Every change runs under an in-process mutex and a file lock, checks first,
/// appends second, and indexes third.
public final class DirectoryRegistry: @unchecked Sendable {
    public static let databaseFileName = "directory.sqlite"
    public static let logFileName = "log.sqlite"
    /// How long an attestation is valid; registering the same key again renews it once less
    /// than `renewalWindow` is left.
    public static let defaultAttestationLifetime: TimeInterval = 365 * 86_400
    public static let renewalWindow: TimeInterval = 30 * 86_400
    /// An attestation's `issued` is set this far before now, so that a client whose clock is a
    /// little behind the directory's does not refuse a fresh attestation as not yet valid (as
    /// certificate authorities backdate notBefore).
    public static let clockSkewAllowance: TimeInterval = 300
    /// Pending registrations (approve policy) a directory holds at most: anyone can make keys,
    /// so without a bound the operator's queue and the database grow without end.
    public static let maximumPendingRegistrations = 10_000

    public let namespace: String
    public let key: DirectoryKey
    public let log: any TransparencyLog
    public let attestationLifetime: TimeInterval
    public var origin: String { key.name }
    public var verifier: NoteVerifier { key.verifier }

    private let pool: DatabasePool
    private let fileLock: DirectoryFileLock
    private let mutex = NSLock()

    /// Opens the directory in `dataDirectory`. `namespace` is required the first time and must
    /// match afterwards; the operator's commands pass nil and read it from the directory.
    public init(
        dataDirectory: URL, namespace requested: String?, attestationLifetime: TimeInterval = defaultAttestationLifetime,
        now: Date = Date()
    ) throws {
        namespace = try DirectoryDataFiles.namespace(in: dataDirectory, requested: requested, now: now)
        key = try DirectoryDataFiles.loadOrCreateKey(in: dataDirectory, name: DirectoryNames.origin(namespace: namespace))
        fileLock = try DirectoryFileLock(path: dataDirectory.appendingPathComponent(DirectoryDataFiles.lockFileName).path)
        pool = try ServiceDatabase.open(
            directory: dataDirectory, fileName: Self.databaseFileName, label: "ProtonDirectory", migrator: Self.migrator)
        let logPath = dataDirectory.appendingPathComponent(Self.logFileName).path
        try DataDirectory.createPrivateFile(logPath)
        log = try SQLiteTransparencyLog(path: logPath)
        self.attestationLifetime = attestationLifetime
        try locked { try reconcile() }
    }

    /// The verifier key clients pin, read from a data directory a directory has used.
    public static func verifierKey(dataDirectory: URL) throws -> String {
        let namespace = try DirectoryDataFiles.namespace(in: dataDirectory, requested: nil, now: Date())
        return try DirectoryDataFiles.loadOrCreateKey(in: dataDirectory, name: DirectoryNames.origin(namespace: namespace)).verifier.verifierKey
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

    public struct Binding: Sendable, Equatable {
        public let name: String
        public let identityKey: Ed25519.PublicKey
        public let revoked: Bool
        public let logIndex: UInt64
    }

    public struct PendingRegistration: Sendable, Equatable {
        public let name: String
        public let identityKey: Ed25519.PublicKey
        public let requested: Date
    }

    public func binding(_ name: String) throws -> Binding? {
        try pool.read { db in try Self.binding(name, db) }
    }

    public func pending() throws -> [PendingRegistration] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, identity_key, requested_at FROM pending ORDER BY requested_at, name").map { row in
                PendingRegistration(
                    name: row["name"], identityKey: try Self.key(row["identity_key"]),
                    requested: Date(timeIntervalSince1970: TimeInterval(row["requested_at"] as Int64)))
            }
        }
    }

    /// The current statement for `name` with its inclusion proof in `checkpoint` (a cosigned
    /// one, with witnesses), by default a freshly signed checkpoint of the whole log.
    public func bundle(for binding: Binding, in checkpoint: SignedCheckpoint? = nil) throws -> AttestationBundle {
        let attestation = try Attestation(decoding: log.leaf(at: binding.logIndex))
        let checkpoint = try checkpoint ?? signedCheckpoint()
        let proof = try log.inclusionProof(index: binding.logIndex, size: checkpoint.checkpoint.size)
        return AttestationBundle(attestation: attestation, proof: proof, checkpoint: checkpoint)
    }

    /// The log's current checkpoint, signed. The size and root are read together.
    public func signedCheckpoint() throws -> SignedCheckpoint {
        try key.sign(log.checkpoint(origin: origin))
    }

    // MARK: - Changes

    public enum Outcome: Sendable, Equatable {
        /// A new statement was logged at this index.
        case logged(Binding)
        /// The name already had this key and a statement valid long enough: nothing was logged.
        case unchanged(Binding)
        /// Waiting for the operator; nothing was logged.
        case pending
    }

    /// A registration whose proof of possession the caller has checked.
    public func register(name: String, identityKey: Ed25519.PublicKey, policy: DirectoryPolicy, now: Date) throws -> Outcome {
        try checkName(name)
        return try locked {
            try reconcile()
            if let current = try binding(name), !current.revoked {
                guard current.identityKey == identityKey else { throw DirectoryRefusal.nameTaken(name) }
                let attestation = try Attestation(decoding: log.leaf(at: current.logIndex))
                if attestation.expires.timeIntervalSince(now) > Self.renewalWindow { return .unchanged(current) }
                return .logged(try append(.attestation, name: name, key: identityKey, previous: nil, now: now))
            }
            switch policy {
            case .open:
                break
            case .allowlist:
                let allowed = try pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT identity_key FROM allowed WHERE name = ?", arguments: [name])
                }
                guard let allowed else { throw DirectoryRefusal.notAllowed(name) }
                if let pinned = allowed["identity_key"] as Data?, [UInt8](pinned) != identityKey.rawRepresentation {
                    throw DirectoryRefusal.notAllowed(name)
                }
            case .approve:
                try pool.write { db in
                    if let row = try Row.fetchOne(db, sql: "SELECT identity_key FROM pending WHERE name = ?", arguments: [name]) {
                        guard [UInt8](row["identity_key"] as Data) == identityKey.rawRepresentation else {
                            throw DirectoryRefusal.nameTaken(name)
                        }
                        return
                    }
                    let pendingCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM pending") ?? 0
                    guard pendingCount < Self.maximumPendingRegistrations else { throw DirectoryRefusal.tooManyPending }
                    try db.execute(
                        sql: "INSERT INTO pending (name, identity_key, requested_at) VALUES (?, ?, ?)",
                        arguments: [name, Data(identityKey.rawRepresentation), Int64(now.timeIntervalSince1970)])
                }
                return .pending
            }
            return .logged(try append(.attestation, name: name, key: identityKey, previous: nil, now: now))
        }
    }

    /// The operator approves the pending registration for `name`.
    public func approve(name: String, now: Date) throws -> Binding {
        try checkName(name)
        return try locked {
            try reconcile()
            guard let row = try pool.read({ db in try Row.fetchOne(db, sql: "SELECT identity_key FROM pending WHERE name = ?", arguments: [name]) })
            else { throw DirectoryRefusal.noPendingRegistration(name) }
            let identityKey = try Self.key(row["identity_key"])
            if let current = try binding(name), !current.revoked {
                guard current.identityKey == identityKey else { throw DirectoryRefusal.nameTaken(name) }
                try removePending(name)
                return current
            }
            let binding = try append(.attestation, name: name, key: identityKey, previous: nil, now: now)
            try removePending(name)
            return binding
        }
    }

    /// The operator refuses the pending registration for `name`.
    public func deny(name: String) throws {
        try checkName(name)
        try locked {
            let removed = try pool.write { db in
                try db.execute(sql: "DELETE FROM pending WHERE name = ?", arguments: [name])
                return db.changesCount
            }
            guard removed > 0 else { throw DirectoryRefusal.noPendingRegistration(name) }
        }
    }

    /// The operator puts `name` on the allowlist, for any key or for `identityKey` only.
    public func allow(name: String, identityKey: Ed25519.PublicKey?, now: Date) throws {
        try checkName(name)
        try locked {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO allowed (name, identity_key, added_at) VALUES (?, ?, ?)",
                    arguments: [name, identityKey.map { Data($0.rawRepresentation) }, Int64(now.timeIntervalSince1970)])
            }
        }
    }

    /// The holder of `name` revokes it; a revocation is logged and the name is free again.
    public func revoke(name: String, identityKey: Ed25519.PublicKey, now: Date) throws -> Binding {
        try checkName(name)
        return try locked {
            try reconcile()
            guard let current = try binding(name), !current.revoked else { throw DirectoryRefusal.notRegistered(name) }
            guard current.identityKey == identityKey else { throw DirectoryRefusal.notOwner(name) }
            return try append(.revocation, name: name, key: identityKey, previous: nil, now: now)
        }
    }

    /// The holder of `name` moves it to `newKey` (both keys signed the request).
    public func changeKey(name: String, from oldKey: Ed25519.PublicKey, to newKey: Ed25519.PublicKey, now: Date) throws -> Binding {
        try checkName(name)
        guard oldKey != newKey else { throw DirectoryRefusal.sameKey }
        return try locked {
            try reconcile()
            guard let current = try binding(name), !current.revoked else { throw DirectoryRefusal.notRegistered(name) }
            guard current.identityKey == oldKey else { throw DirectoryRefusal.notOwner(name) }
            return try append(.keyChange, name: name, key: newKey, previous: oldKey, now: now)
        }
    }

    /// Records a request nonce; false when it was seen before (a replay). Old nonces are dropped.
    public func recordNonce(_ nonce: [UInt8], expires: Date, now: Date) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM nonce WHERE expires_at < ?", arguments: [Int64(now.timeIntervalSince1970)])
            try db.execute(
                sql: "INSERT OR IGNORE INTO nonce (nonce, expires_at) VALUES (?, ?)",
                arguments: [Data(nonce), Int64(expires.timeIntervalSince1970)])
            return db.changesCount == 1
        }
    }

    public func close() {
        ServiceDatabase.close(pool)
    }

    // MARK: - Internals

    private func checkName(_ name: String) throws {
        guard DirectoryNames.isValidName(name) else { throw DirectoryRefusal.invalidName(name) }
    }

    private func locked<T>(_ body: () throws -> T) throws -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try fileLock.withLock(body)
    }

    private func removePending(_ name: String) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM pending WHERE name = ?", arguments: [name]) }
    }

    /// Appends one statement that names its own index, then indexes it. Called under the lock.
    private func append(
        _ kind: Attestation.Kind, name: String, key identityKey: Ed25519.PublicKey, previous: Ed25519.PublicKey?, now: Date
    ) throws -> Binding {
        let index = try log.append { index in
            [
                try Attestation(
                    kind: kind, namespace: namespace, name: name, identityKey: identityKey, previousKey: previous,
                    issued: now.addingTimeInterval(-Self.clockSkewAllowance), expires: now.addingTimeInterval(attestationLifetime),
                    logIndex: index, signedBy: key
                ).encoded()
            ]
        }
        try reconcile()
        return Binding(name: name, identityKey: identityKey, revoked: kind == .revocation, logIndex: index)
    }

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

    private static func binding(_ name: String, _ db: Database) throws -> Binding? {
        guard let row = try Row.fetchOne(db, sql: "SELECT identity_key, state, log_index FROM binding WHERE name = ?", arguments: [name])
        else { return nil }
        return Binding(
            name: name, identityKey: try key(row["identity_key"]), revoked: (row["state"] as String) == "revoked",
            logIndex: UInt64(row["log_index"] as Int64))
    }

    private static func key(_ data: Data) throws -> Ed25519.PublicKey {
        try Ed25519.PublicKey(rawRepresentation: [UInt8](data))
    }
}
