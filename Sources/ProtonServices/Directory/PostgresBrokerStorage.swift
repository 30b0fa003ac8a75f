import Foundation
import NIOCore
import PostgresNIO
import ProtonCore
import ProtonDirectory

/// `BrokerStorage` in the directory's PostgreSQL database, on the registry's connection pool,
/// shared by every instance of a brokered directory.
///
/// What keeps concurrent instances exact: a fetch takes an advisory lock for its requester key
/// (so that the requester's fetches, across names, are counted one at a time against its
/// limit), then locks the name's package row (so that the name's fetches and a publication
/// replacing its package run one at a time: a prekey goes to one fetch, the pending requests
/// and prekeys taken are counted exactly). Always in that order, so two fetches never wait on
/// each other in a cycle.
final class PostgresBrokerStorage: BrokerStorage {
    private let database: PostgresDatabase
    /// Fetches in their transactions at once, at most a quarter of the pool: fetches queued on
    /// one requester's or one name's lock never take every connection from the reads, nor wait
    /// long behind each other for the lock (`lock_timeout`).
    private let fetches = AsyncLimiter(width: 4, maximumWaiting: 1_000)

    /// Adds the broker's tables to `database` (the registry's), migrating them if needed.
    static func open(sharing database: PostgresDatabase) async throws -> PostgresBrokerStorage {
        try await database.migrate(service: "broker", migrations)
        return PostgresBrokerStorage(database: database)
    }

    private init(database: PostgresDatabase) {
        self.database = database
    }

    static let migrations = [
        PostgresMigration(
            name: "v1 key packages, one-time prekeys, contact requests, limits",
            sql: """
                CREATE TABLE broker_key_package (
                    name TEXT PRIMARY KEY,
                    identity_key BYTEA NOT NULL CHECK (length(identity_key) = 32),
                    package BYTEA NOT NULL,
                    rule TEXT NOT NULL CHECK (rule IN ('open', 'attested', 'approval')),
                    trusted TEXT NOT NULL,
                    expires_at BIGINT NOT NULL
                );
                CREATE TABLE broker_one_time_prekey (
                    name TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    prekey BYTEA NOT NULL CHECK (length(prekey) = 32),
                    kem BYTEA CHECK (kem IS NULL OR length(kem) = 1248),
                    PRIMARY KEY (name, seq)
                );
                CREATE TABLE broker_contact_request (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    requester_key BYTEA NOT NULL CHECK (length(requester_key) = 32),
                    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
                    created_at BIGINT NOT NULL,
                    UNIQUE (name, requester_key)
                );
                CREATE INDEX broker_contact_request_by_state ON broker_contact_request (name, state);
                CREATE TABLE broker_fetch_event (
                    requester_key BYTEA NOT NULL,
                    at DOUBLE PRECISION NOT NULL
                );
                CREATE INDEX broker_fetch_event_by_requester ON broker_fetch_event (requester_key, at);
                CREATE INDEX broker_fetch_event_by_time ON broker_fetch_event (at);
                CREATE TABLE broker_prekey_taken (
                    name TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL
                );
                CREATE INDEX broker_prekey_taken_by_name ON broker_prekey_taken (name, at);
                CREATE INDEX broker_prekey_taken_by_time ON broker_prekey_taken (at)
                """)
    ]

    /// Records past the window that a fetch deletes, at most (each fetch adds at most one of
    /// each kind): a requester never seen again leaves nothing behind for long, and no fetch
    /// waits on another's cleanup (rows locked elsewhere are skipped).
    static let cleanupBatch = 100

    func publish(_ entry: BrokerStorageEntry, prekeys: [BrokerStorageEntry.Prekey]) async throws {
        try await database.transaction { transaction in
            try await transaction.query(
                """
                DELETE FROM broker_contact_request WHERE name = \(entry.name)
                    AND EXISTS (SELECT 1 FROM broker_key_package WHERE name = \(entry.name) AND identity_key <> \(entry.identityKey.bytea))
                """)
            try await transaction.query(
                """
                INSERT INTO broker_key_package (name, identity_key, package, rule, trusted, expires_at)
                VALUES (\(entry.name), \(entry.identityKey.bytea), \(entry.package.bytea), \(entry.rule), \(entry.trusted), \(entry.expiresAt))
                ON CONFLICT (name) DO UPDATE SET identity_key = EXCLUDED.identity_key, package = EXCLUDED.package, rule = EXCLUDED.rule,
                    trusted = EXCLUDED.trusted, expires_at = EXCLUDED.expires_at
                """)
            try await transaction.query("DELETE FROM broker_one_time_prekey WHERE name = \(entry.name)")
            guard !prekeys.isEmpty else { return }
            try await transaction.query(
                """
                INSERT INTO broker_one_time_prekey (name, seq, prekey, kem)
                SELECT \(entry.name), p.seq - 1, decode(p.prekey, 'hex'), decode(NULLIF(p.kem, ''), 'hex')
                FROM unnest(\(prekeys.map(\.prekey.hexText))::text[], \(prekeys.map { $0.kem?.hexText ?? "" })::text[])
                    WITH ORDINALITY AS p(prekey, kem, seq)
                """)
        }
    }

    func requests(name: String) async throws -> [BrokerAPI.ContactRequest] {
        try await database.query(
            "SELECT id, requester_key, state, created_at FROM broker_contact_request WHERE name = \(name) ORDER BY created_at, id"
        ).map { row in
            let (id, key, state, created) = try row.decode((String, ByteBuffer, String, Int64).self)
            return BrokerAPI.ContactRequest(id: id, requesterKey: Base64URL.encode(key.bytes), state: state, created: created)
        }
    }

    func decide(name: String, requestID: String, approve: Bool) async throws -> Bool {
        try await !database.query(
            "UPDATE broker_contact_request SET state = \(approve ? "approved" : "denied") WHERE id = \(requestID) AND name = \(name) RETURNING 1"
        ).isEmpty
    }

    func fetch(
        name: String, requester: [UInt8], now: Date, window: TimeInterval, _ rules: @escaping @Sendable (BrokerFetchFacts) throws -> BrokerFetchDecision
    ) async throws -> BrokerFetchDecision {
        let windowStart = now.timeIntervalSince1970 - window
        let at = now.timeIntervalSince1970
        let requesterKey = requester.bytea
        return try await fetches.run { [database] in
            try await database.transaction { transaction in
                try await transaction.query("SET LOCAL lock_timeout = '5s'")
                try await transaction.query("SELECT pg_advisory_xact_lock(\(Self.lockKey(requester)))")
                // Housekeeping before the name's row is locked, so that fetches of one name do
                // not wait for it: a bounded batch of anyone's records past the window, skipping
                // rows another fetch is deleting. The counts below look inside the window only.
                for table in ["broker_fetch_event", "broker_prekey_taken"] {
                    try await transaction.query(
                        """
                        DELETE FROM \(unescaped: table) WHERE ctid IN (
                            SELECT ctid FROM \(unescaped: table) WHERE at < \(windowStart) LIMIT \(Int64(Self.cleanupBatch)) FOR UPDATE SKIP LOCKED)
                        """)
                }
                // From here to the commit this is the name's only fetch. The lock is a statement
                // of its own: the facts are read by the next one, which sees what every fetch
                // before it committed (a row locked and read in one statement would leave the
                // other tables read as they were before the wait).
                let package = try await transaction.query(
                    "SELECT identity_key, package, rule, trusted, expires_at FROM broker_key_package WHERE name = \(name) FOR UPDATE"
                ).first.map { row in
                    let (identityKey, package, rule, trusted, expires) = try row.decode((ByteBuffer, ByteBuffer, String, String, Int64).self)
                    return BrokerStorageEntry(name: name, identityKey: identityKey.bytes, package: package.bytes, rule: rule, trusted: trusted, expiresAt: expires)
                }
                let facts = try await transaction.query(
                    """
                    SELECT
                        (SELECT COUNT(*) FROM broker_fetch_event WHERE requester_key = \(requesterKey) AND at >= \(windowStart)),
                        (SELECT MIN(at) FROM broker_fetch_event WHERE requester_key = \(requesterKey) AND at >= \(windowStart)),
                        (SELECT COUNT(*) FROM broker_contact_request WHERE name = \(name) AND state = 'pending'),
                        (SELECT COUNT(*) FROM broker_prekey_taken WHERE name = \(name) AND at >= \(windowStart)),
                        r.id, r.state, k.seq, k.prekey, k.kem
                    FROM (SELECT 1) AS one
                    LEFT JOIN broker_contact_request AS r ON r.name = \(name) AND r.requester_key = \(requesterKey)
                    LEFT JOIN LATERAL (SELECT seq, prekey, kem FROM broker_one_time_prekey WHERE name = \(name) ORDER BY seq LIMIT 1) AS k ON true
                    """)[0]
                let (recent, oldest, pending, taken, requestID, requestState, seq, prekeyBytes, kem) = try facts.decode(
                    (Int64, Double?, Int64, Int64, String?, String?, Int32?, ByteBuffer?, ByteBuffer?).self)
                let request = both(requestID, requestState).map { BrokerFetchFacts.Request(id: $0, state: $1) }
                let prekey = both(seq, prekeyBytes).map { BrokerFetchFacts.Prekey(seq: Int64($0), prekey: $1.bytes, kem: kem?.bytes) }
                let decision = try rules(
                    BrokerFetchFacts(
                        package: package, recentFetches: Int(recent), oldestFetch: oldest, request: request, pendingRequests: Int(pending),
                        prekeysTaken: Int(taken), prekey: prekey))
                try await transaction.query("INSERT INTO broker_fetch_event (requester_key, at) VALUES (\(requesterKey), \(at))")
                if let id = decision.newRequestID {
                    try await transaction.query(
                        """
                        INSERT INTO broker_contact_request (id, name, requester_key, state, created_at)
                        VALUES (\(id), \(name), \(requesterKey), 'pending', \(Int64(at)))
                        """)
                }
                if let seq = decision.takePrekey {
                    try await transaction.query("DELETE FROM broker_one_time_prekey WHERE name = \(name) AND seq = \(Int32(clamping: seq))")
                    try await transaction.query("INSERT INTO broker_prekey_taken (name, at) VALUES (\(name), \(at))")
                }
                return decision
            }
        }
    }

    func remainingPrekeys(name: String) async throws -> Int {
        Int(try await database.query("SELECT COUNT(*) FROM broker_one_time_prekey WHERE name = \(name)")[0].decode(Int64.self))
    }

    /// The registry owns the pool and closes it.
    func close() {}

    /// The requester's advisory lock: the first 8 bytes of its key (random to anyone but the
    /// key's holder, who gains nothing by colliding with another's lock but waiting).
    private static func lockKey(_ requester: [UInt8]) -> Int64 {
        requester.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }
}

/// Both values, or nil.
private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
