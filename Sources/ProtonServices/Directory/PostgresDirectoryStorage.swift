import Foundation
import Logging
import NIOCore
import PostgresNIO
import ProtonCrypto
import ProtonDirectory

/// `DirectoryStorage` in a PostgreSQL database that any number of directory instances share
/// (docs/deployment.md): the transparency log (leaves and the hash of every complete subtree,
/// as `SQLiteTransparencyLog` keeps them), each name's latest statement, pending registrations,
/// the allowlist and request nonces.
///
/// Why the log cannot fork across instances: every change is one transaction that first takes
/// one advisory lock of the database (`pg_advisory_xact_lock`), held to its commit, so changes
/// run one at a time whatever instance makes them; each reads the log's size after taking the
/// lock, so it appends after every leaf committed before it; and the leaf, its subtree hashes
/// and the name's index commit together or not at all. The database stores the namespace and
/// the verifier key of the directory that created it and refuses instances with others: leaves
/// signed by two keys in one log would be a log that no client can verify.
///
/// Reads take no lock: the log only grows and what a size covers never changes, so a size read
/// first and hashes read after it always describe one tree.
public final class PostgresDirectoryStorage: DirectoryStorage {
    let database: PostgresDatabase
    /// The database's id for this directory (`directory_settings`), recorded in the data
    /// directory so that it can never be opened on another log (`DirectoryDataFiles`).
    let directoryID: String
    /// This instance's changes wait for the change lock one at a time, the rest in memory: a
    /// flood of registrations never holds every connection of the pool, and reads still run.
    private let changes = AsyncLimiter(width: 1, maximumWaiting: 1_000)

    public static func open(
        _ location: PostgresLocation, namespace: String, verifierKey: String, logger: Logger = Logger(label: "proton.directory.postgres")
    ) async throws -> PostgresDirectoryStorage {
        let database = try await PostgresDatabase.open(location, service: "directory", migrations: Self.migrations, logger: logger)
        do {
            let rows = try await database.query(
                """
                WITH created AS (
                    INSERT INTO directory_settings (id, namespace, verifier_key, directory_id)
                    VALUES (1, \(namespace), \(verifierKey), \(SystemRandom().bytes(16).hexText))
                    ON CONFLICT (id) DO NOTHING RETURNING namespace, verifier_key, directory_id)
                SELECT namespace, verifier_key, directory_id FROM created
                UNION ALL SELECT namespace, verifier_key, directory_id FROM directory_settings
                LIMIT 1
                """)
            guard let (storedNamespace, storedKey, directoryID) = try rows.first?.decode((String, String, String).self) else {
                throw PostgresDatabaseError.unusable(location: location.description, reason: "it has no directory settings")
            }
            guard storedNamespace == namespace else {
                throw PostgresDatabaseError.otherDirectory(reason: "it holds the directory of \(storedNamespace), not \(namespace)")
            }
            guard storedKey == verifierKey else { throw PostgresDatabaseError.otherDirectory(reason: "its log is signed by another directory key") }
            return PostgresDirectoryStorage(database: database, directoryID: directoryID)
        } catch {
            database.close()
            throw error
        }
    }

    private init(database: PostgresDatabase, directoryID: String) {
        self.database = database
        self.directoryID = directoryID
    }

    static let migrations = [
        PostgresMigration(
            name: "v1 log, names, pending registrations, allowlist, nonces",
            sql: """
                CREATE TABLE directory_settings (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    namespace TEXT NOT NULL,
                    verifier_key TEXT NOT NULL,
                    directory_id TEXT NOT NULL
                );
                CREATE TABLE directory_leaf (
                    idx BIGINT PRIMARY KEY CHECK (idx >= 0),
                    data BYTEA NOT NULL
                );
                CREATE TABLE directory_node (
                    level SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 63),
                    idx BIGINT NOT NULL CHECK (idx >= 0),
                    hash BYTEA NOT NULL CHECK (length(hash) = 32),
                    PRIMARY KEY (level, idx)
                );
                CREATE TABLE directory_binding (
                    name TEXT PRIMARY KEY,
                    identity_key BYTEA NOT NULL CHECK (length(identity_key) = 32),
                    revoked BOOLEAN NOT NULL,
                    log_index BIGINT NOT NULL REFERENCES directory_leaf(idx)
                );
                CREATE TABLE directory_pending (
                    name TEXT PRIMARY KEY,
                    identity_key BYTEA NOT NULL CHECK (length(identity_key) = 32),
                    requested_at BIGINT NOT NULL
                );
                CREATE INDEX directory_pending_by_time ON directory_pending (requested_at, name);
                CREATE TABLE directory_allowed (
                    name TEXT PRIMARY KEY,
                    identity_key BYTEA CHECK (identity_key IS NULL OR length(identity_key) = 32),
                    added_at BIGINT NOT NULL
                );
                CREATE TABLE directory_nonce (
                    nonce BYTEA PRIMARY KEY,
                    expires_at BIGINT NOT NULL
                );
                CREATE INDEX directory_nonce_expiry ON directory_nonce (expires_at)
                """)
    ]

    /// `pg_advisory_xact_lock`'s key for changes: "protondir" in ASCII, less its first byte.
    static let changeLockKey: Int64 = 0x726F_746F_6E64_6972

    // MARK: - Reading

    public func leaf(at index: UInt64) async throws -> [UInt8] {
        let rows = try await database.query(
            "SELECT (SELECT data FROM directory_leaf WHERE idx = \(Int64(clamping: index))), (SELECT COALESCE(MAX(idx) + 1, 0) FROM directory_leaf)")
        let (data, size) = try rows[0].decode((ByteBuffer?, Int64).self)
        guard index < UInt64(size) else { throw TransparencyLogError.indexOutOfRange(index: index, size: UInt64(size)) }
        guard let data else { throw TransparencyLogError.corrupted("leaf \(index) is missing") }
        return data.bytes
    }

    public func inclusionProof(index: UInt64, size: UInt64) async throws -> InclusionProof {
        let logSize = try await Self.size(database.query("SELECT COALESCE(MAX(idx) + 1, 0) FROM directory_leaf"))
        guard size <= logSize else { throw TransparencyLogError.sizeBeyondLog(requested: size, size: logSize) }
        guard index < size else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
        let subtrees = try await fetch(FetchedSubtrees.keys { _ = try $0.inclusionPath(leafIndex: index, treeSize: size) })
        return InclusionProof(leafIndex: index, treeSize: size, hashes: try subtrees.inclusionPath(leafIndex: index, treeSize: size))
    }

    public func consistencyProof(from: UInt64, to: UInt64) async throws -> ConsistencyProof {
        let logSize = try await Self.size(database.query("SELECT COALESCE(MAX(idx) + 1, 0) FROM directory_leaf"))
        guard to <= logSize else { throw TransparencyLogError.sizeBeyondLog(requested: to, size: logSize) }
        guard from <= to else { throw TransparencyLogError.sizesOutOfOrder(from: from, to: to) }
        let subtrees = try await fetch(FetchedSubtrees.keys { _ = try $0.consistencyPath(firstSize: from, secondSize: to) })
        return ConsistencyProof(firstSize: from, secondSize: to, hashes: try subtrees.consistencyPath(firstSize: from, secondSize: to))
    }

    public func checkpoint(origin: String) async throws -> Checkpoint {
        let size = try await Self.size(database.query("SELECT COALESCE(MAX(idx) + 1, 0) FROM directory_leaf"))
        let subtrees = try await fetch(FetchedSubtrees.keys { _ = try $0.treeRoot(size: size) })
        return try Checkpoint(origin: origin, size: size, rootHash: subtrees.treeRoot(size: size))
    }

    public func binding(_ name: String) async throws -> DirectoryRegistry.Binding? {
        try await Self.binding(name, database.query("SELECT identity_key, revoked, log_index FROM directory_binding WHERE name = \(name)"))
    }

    public func pending() async throws -> [DirectoryRegistry.PendingRegistration] {
        try await database.query("SELECT name, identity_key, requested_at FROM directory_pending ORDER BY requested_at, name COLLATE \"C\"").map { row in
            let (name, key, requested) = try row.decode((String, ByteBuffer, Int64).self)
            return DirectoryRegistry.PendingRegistration(
                name: name, identityKey: try Ed25519.PublicKey(rawRepresentation: key.bytes),
                requested: Date(timeIntervalSince1970: TimeInterval(requested)))
        }
    }

    public func recordNonce(_ nonce: [UInt8], expires: Date, now: Date) async throws -> Bool {
        // A margin over the expiry: another instance's clock may be behind this one's. At most
        // 100 expired nonces go per request, more than each request adds: a backlog (after an
        // outage) drains over the requests instead of making each one's statement too long.
        try await database.query(
            """
            DELETE FROM directory_nonce WHERE nonce IN (
                SELECT nonce FROM directory_nonce WHERE expires_at < \(now.unixSeconds - PostgresDatabase.nonceMargin) LIMIT 100
                FOR UPDATE SKIP LOCKED)
            """)
        let rows = try await database.query(
            "INSERT INTO directory_nonce (nonce, expires_at) VALUES (\(nonce.bytea), \(expires.unixSeconds)) ON CONFLICT DO NOTHING RETURNING 1")
        return rows.count == 1
    }

    // MARK: - Changing

    public func change<T: Sendable>(_ body: @escaping @Sendable (any DirectoryChange) async throws -> T) async throws -> T {
        try await changes.run {
            try await database.transaction { transaction in
                // A change that cannot have the lock soon is refused (503), not queued for a minute.
                try await transaction.query("SET LOCAL lock_timeout = '5s'")
                try await transaction.query("SELECT pg_advisory_xact_lock(\(Self.changeLockKey))")
                return try await body(Change(transaction: transaction))
            }
        }
    }

    public func close() {
        database.close()
    }

    private struct Change: DirectoryChange {
        let transaction: PostgresTransaction

        func binding(_ name: String) async throws -> DirectoryRegistry.Binding? {
            try await PostgresDirectoryStorage.binding(
                name, transaction.query("SELECT identity_key, revoked, log_index FROM directory_binding WHERE name = \(name)"))
        }

        func leaf(at index: UInt64) async throws -> [UInt8] {
            guard let row = try await transaction.query("SELECT data FROM directory_leaf WHERE idx = \(Int64(clamping: index))").first else {
                throw TransparencyLogError.corrupted("leaf \(index) is missing")
            }
            return try row.decode(ByteBuffer.self).bytes
        }

        func allowance(_ name: String) async throws -> DirectoryAllowance? {
            guard let row = try await transaction.query("SELECT identity_key FROM directory_allowed WHERE name = \(name)").first else {
                return nil
            }
            return try row.decode(ByteBuffer?.self).map { .only(try Ed25519.PublicKey(rawRepresentation: $0.bytes)) } ?? .anyKey
        }

        func allow(_ name: String, _ allowance: DirectoryAllowance, now: Date) async throws {
            try await transaction.query(
                """
                INSERT INTO directory_allowed (name, identity_key, added_at) VALUES (\(name), \(allowance.pinnedKey?.rawRepresentation.bytea), \(now.unixSeconds))
                ON CONFLICT (name) DO UPDATE SET identity_key = EXCLUDED.identity_key, added_at = EXCLUDED.added_at
                """)
        }

        func pendingKey(_ name: String) async throws -> Ed25519.PublicKey? {
            try await transaction.query("SELECT identity_key FROM directory_pending WHERE name = \(name)").first.map { row in
                try Ed25519.PublicKey(rawRepresentation: row.decode(ByteBuffer.self).bytes)
            }
        }

        func pendingCount() async throws -> Int {
            Int(try await transaction.query("SELECT COUNT(*) FROM directory_pending")[0].decode(Int64.self))
        }

        func addPending(_ name: String, identityKey: Ed25519.PublicKey, now: Date) async throws {
            try await transaction.query(
                "INSERT INTO directory_pending (name, identity_key, requested_at) VALUES (\(name), \(identityKey.rawRepresentation.bytea), \(now.unixSeconds))")
        }

        func removePending(_ name: String) async throws -> Bool {
            try await !transaction.query("DELETE FROM directory_pending WHERE name = \(name) RETURNING 1").isEmpty
        }

        /// Under the change lock: the size read here is the log's, and nothing appends before
        /// this commits. The leaf, the subtrees it completes and the name's index go in together.
        func append(_ binding: DirectoryRegistry.Binding, statement: @escaping @Sendable (UInt64) throws -> [UInt8]) async throws -> UInt64 {
            let size = try PostgresDirectoryStorage.size(await transaction.query("SELECT COALESCE(MAX(idx) + 1, 0) FROM directory_leaf"))
            guard size < UInt64(Int64.max) else { throw TransparencyLogError.tooManyLeaves(limit: UInt64(Int64.max)) }
            let leaf = try statement(size)
            guard leaf.count <= TransparencyLogLimits.maximumLeafByteCount else {
                throw TransparencyLogError.leafTooLarge(limit: TransparencyLogLimits.maximumLeafByteCount, actual: leaf.count)
            }
            var frontier = try MerkleFrontier(size: size, subtrees: await PostgresDirectoryStorage.fetch(Set(MerkleFrontier.subtrees(size: size)), transaction.query))
            let subtrees = frontier.append(leaf: leaf)
            let index = Int64(size)
            try await transaction.query("INSERT INTO directory_leaf (idx, data) VALUES (\(index), \(leaf.bytea))")
            try await transaction.query(
                """
                INSERT INTO directory_node (level, idx, hash)
                SELECT level, idx, decode(hash, 'hex') FROM unnest(\(subtrees.map { Int16($0.level) })::int2[], \(subtrees.map { Int64($0.index) })::int8[],
                    \(subtrees.map { $0.hash.hexText })::text[]) AS s(level, idx, hash)
                """)
            try await transaction.query(
                """
                INSERT INTO directory_binding (name, identity_key, revoked, log_index)
                VALUES (\(binding.name), \(binding.identityKey.rawRepresentation.bytea), \(binding.revoked), \(index))
                ON CONFLICT (name) DO UPDATE SET identity_key = EXCLUDED.identity_key, revoked = EXCLUDED.revoked, log_index = EXCLUDED.log_index
                """)
            return size
        }
    }

    // MARK: - Internals

    private static func size(_ rows: [PostgresRow]) throws -> UInt64 {
        UInt64(try rows[0].decode(Int64.self))
    }

    private func fetch(_ keys: Set<SubtreeKey>) async throws -> FetchedSubtrees {
        try await Self.fetch(keys, database.query)
    }

    /// The subtrees `keys` names, in one query.
    private static func fetch(_ keys: Set<SubtreeKey>, _ query: (PostgresQuery) async throws -> [PostgresRow]) async throws -> FetchedSubtrees {
        guard !keys.isEmpty else { return FetchedSubtrees([:]) }
        let keys = Array(keys)
        let rows = try await query(
            """
            SELECT n.level, n.idx, n.hash FROM directory_node AS n
            JOIN unnest(\(keys.map { Int16($0.level) })::int2[], \(keys.map { Int64($0.index) })::int8[]) AS k(level, idx)
                ON n.level = k.level AND n.idx = k.idx
            """)
        var hashes: [SubtreeKey: [UInt8]] = [:]
        for row in rows {
            let (level, index, hash) = try row.decode((Int16, Int64, ByteBuffer).self)
            hashes[SubtreeKey(level: Int(level), index: UInt64(index))] = hash.bytes
        }
        return FetchedSubtrees(hashes)
    }

    private static func binding(_ name: String, _ rows: [PostgresRow]) throws -> DirectoryRegistry.Binding? {
        guard let row = rows.first else { return nil }
        let (key, revoked, index) = try row.decode((ByteBuffer, Bool, Int64).self)
        return DirectoryRegistry.Binding(
            name: name, identityKey: try Ed25519.PublicKey(rawRepresentation: key.bytes), revoked: revoked, logIndex: UInt64(index))
    }
}
