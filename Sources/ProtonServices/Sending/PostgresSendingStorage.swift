import Foundation
import Logging
import NIOCore
import PostgresNIO
import ProtonCore
import ProtonCrypto
import Synchronization

/// `SendingStorage` in a PostgreSQL database that any number of sending-service instances
/// share (docs/deployment.md): any instance accepts a message, and exactly one forwards it.
///
/// Each instance's forwarder claims the due messages it takes (`FOR UPDATE SKIP LOCKED`: two
/// instances never take the same row, and neither waits for the other), for a lease longer
/// than a forwarding attempt can last. The claim is a random token written with the lease;
/// results are recorded only under the token that claimed them, so an instance whose lease ran
/// out (stalled, or killed) cannot overwrite what the instance that took over recorded. A
/// killed instance's messages are claimed again once their lease ends. `claims` counts how
/// often each message was handed to a forwarder, `forwards` how many of those sent it to its
/// receiving service and recorded the answer (a deferral sends nothing; a late result still
/// counts, as the request went out), for operators and the tests that check "exactly once".
public final class PostgresSendingStorage: SendingStorage {
    let database: PostgresDatabase
    /// How long a claim holds before another instance may take the message.
    let claimLease: TimeInterval
    /// The token of each message this instance has claimed and not yet recorded.
    private let claimed = Mutex<[String: [UInt8]]>([:])

    public static func open(
        _ location: PostgresLocation, claimLease: TimeInterval = 120, logger: Logger = Logger(label: "proton.sending.postgres")
    ) async throws -> PostgresSendingStorage {
        PostgresSendingStorage(
            database: try await PostgresDatabase.open(location, service: "sending", migrations: Self.migrations, logger: logger),
            claimLease: claimLease)
    }

    private init(database: PostgresDatabase, claimLease: TimeInterval) {
        self.database = database
        self.claimLease = claimLease
    }

    static let migrations = [
        PostgresMigration(
            name: "v1 outbox",
            sql: """
                CREATE TABLE sending_outbox (
                    id TEXT PRIMARY KEY,
                    receiving_service TEXT NOT NULL,
                    service_key BYTEA,
                    sealed_address BYTEA,
                    ciphertext BYTEA,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    outcome TEXT,
                    error TEXT,
                    created_at BIGINT NOT NULL,
                    next_attempt_at DOUBLE PRECISION NOT NULL,
                    finished_at BIGINT,
                    claim BYTEA,
                    claimed_until DOUBLE PRECISION,
                    claims INTEGER NOT NULL DEFAULT 0,
                    forwards INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX sending_outbox_due ON sending_outbox(next_attempt_at) WHERE state = 'queued';
                CREATE INDEX sending_outbox_claimed ON sending_outbox(claimed_until) WHERE state = 'queued' AND claimed_until IS NOT NULL;
                CREATE INDEX sending_outbox_settled ON sending_outbox(finished_at) WHERE state <> 'queued';
                """)
    ]

    public func enqueue(_ entry: OutboxEntry, now: Date) async throws {
        try await database.query(
            """
            INSERT INTO sending_outbox (id, receiving_service, service_key, sealed_address, ciphertext, state, attempts, created_at, next_attempt_at)
            VALUES (\(entry.id), \(entry.receivingService), \(entry.serviceKey.bytea), \(entry.sealedAddress.bytea), \(entry.ciphertext.bytea),
                'queued', \(Int32(entry.attempts)), \(now.unixSeconds), \(now.timeIntervalSince1970))
            """)
    }

    public func status(_ id: String) async throws -> ServiceAPI.SendStatus? {
        let rows = try await database.query("SELECT state, attempts, outcome, error FROM sending_outbox WHERE id = \(id)")
        guard let (state, attempts, outcome, error) = try rows.first?.decode((String, Int32, String?, String?).self) else { return nil }
        return ServiceAPI.SendStatus(
            id: id, state: ServiceAPI.SendStatus.State(rawValue: state) ?? .queued, attempts: Int(attempts),
            outcome: outcome.flatMap(ServiceAPI.SendStatus.Outcome.init(rawValue:)), error: error)
    }

    /// Claims up to `limit` due messages that no instance holds, for this instance. Leases run
    /// on the database's clock, so that instances whose clocks differ agree on when one ends;
    /// `now` (the service's clock) decides what is due, as with SQLite.
    public func dueEntries(now: Date, excluding: Set<String>, excludingTargets: Set<ForwardingTarget>, limit: Int) async throws
        -> [OutboxEntry]
    {
        guard limit > 0 else { return [] }
        let token = SystemRandom().bytes(16)
        let current = now.timeIntervalSince1970
        // Entries still in flight here are never claimed again here, whatever their lease.
        let inFlight = Array(excluding)
        let fullServices = excludingTargets.map(\.receivingService)
        let fullKeys = excludingTargets.map(\.serviceKey.bytea)
        let rows = try await database.query(
            """
            UPDATE sending_outbox SET claim = \(token.bytea), claimed_until = \(unescaped: Self.databaseTime) + \(claimLease), claims = claims + 1
            WHERE id IN (
                SELECT id FROM sending_outbox
                WHERE state = 'queued' AND next_attempt_at <= \(current)
                    AND (claimed_until IS NULL OR claimed_until <= \(unescaped: Self.databaseTime)) AND id <> ALL(\(inFlight))
                    AND NOT EXISTS (
                        SELECT 1 FROM unnest(\(fullServices)::text[], \(fullKeys)::bytea[]) AS full_target(service, key)
                        WHERE full_target.service = receiving_service AND full_target.key = coalesce(service_key, ''::bytea))
                ORDER BY next_attempt_at LIMIT \(Int64(limit))
                FOR UPDATE SKIP LOCKED)
            RETURNING id, receiving_service, service_key, sealed_address, ciphertext, attempts, next_attempt_at, created_at
            """
        )
        var entries: [(entry: OutboxEntry, due: Double)] = []
        for row in rows {
            let (id, service, key, sealed, ciphertext, attempts, due, created) = try row.decode(
                (String, String, ByteBuffer?, ByteBuffer, ByteBuffer, Int32, Double, Int64).self)
            entries.append(
                (
                    OutboxEntry(
                        id: id, receivingService: service, serviceKey: key?.bytes ?? [], sealedAddress: sealed.bytes,
                        ciphertext: ciphertext.bytes, attempts: Int(attempts), queuedAt: Date(timeIntervalSince1970: TimeInterval(created))), due
                ))
        }
        let taken = entries.sorted { $0.due < $1.due }.map(\.entry)
        claimed.withLock { claims in
            for entry in taken { claims[entry.id] = token }
        }
        return taken
    }

    /// The earliest time a message may be due for this instance: the next unclaimed one's
    /// attempt, or the end of the earliest claim held elsewhere (a killed instance's), moved to
    /// this service's clock.
    public func nextAttemptTime(now: Date, excluding: Set<String>) async throws -> Date? {
        let rows = try await database.query(
            """
            SELECT
                (SELECT next_attempt_at FROM sending_outbox
                 WHERE state = 'queued' AND (claimed_until IS NULL OR claimed_until <= \(unescaped: Self.databaseTime))
                 ORDER BY next_attempt_at LIMIT 1),
                (SELECT claimed_until - \(unescaped: Self.databaseTime) FROM sending_outbox
                 WHERE state = 'queued' AND claimed_until > \(unescaped: Self.databaseTime)
                 ORDER BY claimed_until LIMIT 1)
            """
        )
        guard let (due, claimEnds) = try rows.first?.decode((Double?, Double?).self) else { return nil }
        let candidates = [due.map { Date(timeIntervalSince1970: $0) }, claimEnds.map { now.addingTimeInterval($0) }].compactMap { $0 }
        return candidates.min()
    }

    public func release(_ ids: [String]) async throws {
        let tokens = claimed.withLock { claims in ids.compactMap { id in claims.removeValue(forKey: id).map { (id, $0) } } }
        guard !tokens.isEmpty else { return }
        try await database.transaction { transaction in
            for (id, token) in tokens {
                try await transaction.query(
                    "UPDATE sending_outbox SET claim = NULL, claimed_until = NULL WHERE id = \(id) AND claim = \(token.bytea)")
            }
        }
    }

    /// Seconds since 1970 on the database server's clock.
    private static let databaseTime = "EXTRACT(EPOCH FROM clock_timestamp())"

    /// One statement per kind of result (a forwarder's request usually has one kind), each row
    /// updated only under the claim this instance holds. A forward whose claim was taken over
    /// still counts in `forwards`: its request went out.
    public func record(_ results: [ForwardingResult], now: Date) async throws {
        guard !results.isEmpty else { return }
        let tokens = claimed.withLock { claims in results.map { claims.removeValue(forKey: $0.id) } }
        var settled = ResultRows()
        var retried = ResultRows()
        var deferred = ResultRows()
        var unclaimed: [String] = []
        for (result, token) in zip(results, tokens) {
            guard let token else {
                if case .deferred = result.settlement {} else { unclaimed.append(result.id) }
                continue
            }
            switch result.settlement {
            case .delivered:
                settled.add(result, token: token, state: .delivered, outcome: .delivered, error: "")
            case .failed(let outcome, let error):
                settled.add(result, token: token, state: .failed, outcome: outcome, error: error)
            case .retry(let nextAttempt, let outcome, let error):
                retried.add(result, token: token, state: .queued, outcome: outcome, error: error, time: nextAttempt)
            case .deferred(let until):
                deferred.add(result, token: token, state: .queued, outcome: .delivered, error: "", time: until)
            }
        }
        try await database.transaction { [settled, retried, deferred, unclaimed] transaction in
            var recorded: Set<String> = []
            if !settled.ids.isEmpty {
                recorded.formUnion(
                    try await transaction.query(
                        """
                        UPDATE sending_outbox AS o SET state = r.state, attempts = r.attempts, outcome = r.outcome, error = NULLIF(r.error, ''),
                            finished_at = \(now.unixSeconds), sealed_address = NULL, ciphertext = NULL, service_key = NULL,
                            claim = NULL, claimed_until = NULL, forwards = o.forwards + 1
                        FROM unnest(\(settled.ids)::text[], \(settled.tokens)::text[], \(settled.states)::text[], \(settled.attempts)::int4[],
                            \(settled.outcomes)::text[], \(settled.errors)::text[]) AS r(id, token, state, attempts, outcome, error)
                        WHERE o.id = r.id AND o.state = 'queued' AND o.claim = decode(r.token, 'hex')
                        RETURNING o.id
                        """
                    ).map { try $0.decode(String.self) })
            }
            if !retried.ids.isEmpty {
                recorded.formUnion(
                    try await transaction.query(
                        """
                        UPDATE sending_outbox AS o SET attempts = r.attempts, next_attempt_at = r.next, outcome = r.outcome, error = r.error,
                            claim = NULL, claimed_until = NULL, forwards = o.forwards + 1
                        FROM unnest(\(retried.ids)::text[], \(retried.tokens)::text[], \(retried.attempts)::int4[], \(retried.times)::float8[],
                            \(retried.outcomes)::text[], \(retried.errors)::text[]) AS r(id, token, attempts, next, outcome, error)
                        WHERE o.id = r.id AND o.state = 'queued' AND o.claim = decode(r.token, 'hex')
                        RETURNING o.id
                        """
                    ).map { try $0.decode(String.self) })
            }
            if !deferred.ids.isEmpty {
                try await transaction.query(
                    """
                    UPDATE sending_outbox AS o SET next_attempt_at = r.next, claim = NULL, claimed_until = NULL
                    FROM unnest(\(deferred.ids)::text[], \(deferred.tokens)::text[], \(deferred.times)::float8[]) AS r(id, token, next)
                    WHERE o.id = r.id AND o.state = 'queued' AND o.claim = decode(r.token, 'hex')
                    """)
            }
            let stale = unclaimed + (settled.ids + retried.ids).filter { !recorded.contains($0) }
            if !stale.isEmpty {
                try await transaction.query("UPDATE sending_outbox SET forwards = forwards + 1 WHERE id = ANY(\(stale))")
            }
        }
    }

    /// Results of one kind, as the columns of an `unnest`.
    private struct ResultRows: Sendable {
        var ids: [String] = []
        var tokens: [String] = []
        var states: [String] = []
        var attempts: [Int32] = []
        var outcomes: [String] = []
        var errors: [String] = []
        var times: [Double] = []

        mutating func add(
            _ result: ForwardingResult, token: [UInt8], state: ServiceAPI.SendStatus.State, outcome: ServiceAPI.SendStatus.Outcome,
            error: String, time: Date? = nil
        ) {
            ids.append(result.id)
            tokens.append(token.hexText)
            states.append(state.rawValue)
            attempts.append(Int32(result.attempts))
            outcomes.append(outcome.rawValue)
            errors.append(error)
            times.append(time?.timeIntervalSince1970 ?? 0)
        }
    }

    /// A chunk at a time (`deleteInChunks`): a day of settled sends of a busy service is more
    /// than one statement deletes within the statement timeout.
    public func purgeSettled(before: Date) async throws -> Int {
        try await database.deleteInChunks(
            """
            DELETE FROM sending_outbox WHERE id IN (
                SELECT id FROM sending_outbox WHERE state <> 'queued' AND finished_at < \(before.unixSeconds)
                LIMIT \(Int64(PostgresDatabase.deleteChunk)) FOR UPDATE SKIP LOCKED) RETURNING 1
            """)
    }

    public func counts() async throws -> SendingStorageCounts {
        let rows = try await database.query(
            """
            SELECT COUNT(*) FILTER (WHERE state = 'queued'), COUNT(*) FILTER (WHERE state = 'delivered'),
                COUNT(*) FILTER (WHERE state = 'failed'), COUNT(*) FILTER (WHERE ciphertext IS NOT NULL)
            FROM sending_outbox
            """
        )
        let (queued, delivered, failed, withCiphertext) = try rows[0].decode((Int64, Int64, Int64, Int64).self)
        return SendingStorageCounts(queued: Int(queued), delivered: Int(delivered), failed: Int(failed), withCiphertext: Int(withCiphertext))
    }

    public func queuedCount() async throws -> Int {
        let rows = try await database.query("SELECT COUNT(*) FROM sending_outbox WHERE state = 'queued'")
        return Int(try rows[0].decode(Int64.self))
    }

    public func isReady() async -> Bool { await database.answers() }

    public func close() async {
        database.close()
    }
}
