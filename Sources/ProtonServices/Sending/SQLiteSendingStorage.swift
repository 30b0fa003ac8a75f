import Foundation
import GRDB
import ProtonCore

/// `SendingStorage` in `DIR/sending.sqlite` (WAL). `enqueue` commits before it returns, so a
/// 202 means the message survives a crash of the process.
public final class SQLiteSendingStorage: SendingStorage {
    public static let databaseFileName = "sending.sqlite"

    private let pool: DatabasePool
    /// Concurrent writes (accepted sends, forwarding results) share transactions and fsyncs:
    /// see `GroupCommit`.
    private let writes: GroupCommit<Write, Void>

    public init(directory: URL) throws {
        let pool = try ServiceDatabase.open(
            directory: directory, fileName: Self.databaseFileName, label: "ProtonSending", migrator: SendingMigrations.migrator)
        self.pool = pool
        writes = GroupCommit { batch in
            try await pool.write { db in try batch.forEach { try $0.apply(db) } }
            return batch.map { _ in () }
        }
    }

    /// One change to the outbox, applied in whichever group commit takes it.
    private enum Write: Sendable {
        case enqueue(OutboxEntry, now: Date)
        /// A final state drops both blobs: nothing is left to forward.
        case settle(id: String, state: ServiceAPI.SendStatus.State, attempts: Int, outcome: ServiceAPI.SendStatus.Outcome, error: String?, now: Date)
        case retry(id: String, attempts: Int, nextAttempt: Date, outcome: ServiceAPI.SendStatus.Outcome, error: String)
        case postpone(id: String, until: Date)

        func apply(_ db: Database) throws {
            switch self {
            case .enqueue(let entry, let now):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO outbox (id, receiving_service, service_key, sealed_address, ciphertext, state, attempts, created_at, next_attempt_at)
                        VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)
                        """
                ).execute(arguments: [
                    entry.id, entry.receivingService, Data(entry.serviceKey), Data(entry.sealedAddress), Data(entry.ciphertext), entry.attempts, now.unixSeconds,
                    now.timeIntervalSince1970,
                ])
            case .settle(let id, let state, let attempts, let outcome, let error, let now):
                try db.cachedStatement(
                    sql: """
                        UPDATE outbox SET state = ?, attempts = ?, outcome = ?, error = ?, finished_at = ?,
                            sealed_address = NULL, ciphertext = NULL, service_key = NULL
                        WHERE id = ?
                        """
                ).execute(arguments: [state.rawValue, attempts, outcome.rawValue, error, now.unixSeconds, id])
            case .retry(let id, let attempts, let nextAttempt, let outcome, let error):
                try db.cachedStatement(
                    sql: "UPDATE outbox SET attempts = ?, next_attempt_at = ?, outcome = ?, error = ? WHERE id = ? AND state = 'queued'"
                ).execute(arguments: [attempts, nextAttempt.timeIntervalSince1970, outcome.rawValue, error, id])
            case .postpone(let id, let until):
                try db.cachedStatement(sql: "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND state = 'queued'")
                    .execute(arguments: [until.timeIntervalSince1970, id])
            }
        }
    }

    public func enqueue(_ entry: OutboxEntry, now: Date) async throws {
        try await writes.submit(.enqueue(entry, now: now))
    }

    public func status(_ id: String) async throws -> ServiceAPI.SendStatus? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT state, attempts, outcome, error FROM outbox WHERE id = ?", arguments: [id])
            else { return nil }
            let state: String = row["state"]
            let outcome: String? = row["outcome"]
            return ServiceAPI.SendStatus(
                id: id, state: ServiceAPI.SendStatus.State(rawValue: state) ?? .queued, attempts: row["attempts"],
                outcome: outcome.flatMap(ServiceAPI.SendStatus.Outcome.init(rawValue:)), error: row["error"])
        }
    }

    public func dueEntries(now: Date, excluding: Set<String>, excludingTargets: Set<ForwardingTarget>, limit: Int) async throws
        -> [OutboxEntry]
    {
        try await pool.read { db in
            // One pass in the outbox's order. A row's blobs are read only when its columns are
            // (SQLite reads a column when asked, and a blob's overflow pages with it): the rows
            // already in flight are passed over by their id alone, and the others' columns are
            // copied once, straight out of the statement.
            var sql = """
                SELECT id, receiving_service, service_key, sealed_address, ciphertext, attempts, created_at
                FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?
                """
            var arguments: StatementArguments = [now.timeIntervalSince1970]
            for target in excludingTargets {
                sql += " AND NOT (receiving_service = ? AND coalesce(service_key, x'') = coalesce(?, x''))"
                arguments += [target.receivingService, Data(target.serviceKey)]
            }
            sql += " ORDER BY next_attempt_at LIMIT ?"
            arguments += [limit + excluding.count]
            var entries: [OutboxEntry] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while entries.count < limit, let row = try rows.next() {
                let id: String = row[0]
                guard !excluding.contains(id) else { continue }
                let serviceKey = try row.withUnsafeData(atIndex: 2) { Array($0 ?? Data()) }
                guard let sealed = try row.withUnsafeData(atIndex: 3, { $0.map(Array.init) }),
                    let ciphertext = try row.withUnsafeData(atIndex: 4, { $0.map(Array.init) })
                else { continue }
                entries.append(
                    OutboxEntry(
                        id: id, receivingService: row[1], serviceKey: serviceKey, sealedAddress: sealed, ciphertext: ciphertext,
                        attempts: row[5], queuedAt: Date(timeIntervalSince1970: row[6])))
            }
            return entries
        }
    }

    public func nextAttemptTime(now: Date, excluding: Set<String>) async throws -> Date? {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, next_attempt_at FROM outbox WHERE state = 'queued' ORDER BY next_attempt_at LIMIT ?",
                arguments: [excluding.count + 1])
            let row = rows.first { !excluding.contains($0["id"]) }
            return row.map { Date(timeIntervalSince1970: $0["next_attempt_at"]) }
        }
    }

    public func record(_ results: [ForwardingResult], now: Date) async throws {
        _ = try await writes.submit(
            results.map { result in
                switch result.settlement {
                case .delivered:
                    .settle(id: result.id, state: .delivered, attempts: result.attempts, outcome: .delivered, error: nil, now: now)
                case .failed(let outcome, let error):
                    .settle(id: result.id, state: .failed, attempts: result.attempts, outcome: outcome, error: error, now: now)
                case .retry(let nextAttempt, let outcome, let error):
                    .retry(id: result.id, attempts: result.attempts, nextAttempt: nextAttempt, outcome: outcome, error: error)
                case .deferred(let until):
                    .postpone(id: result.id, until: until)
                }
            })
    }

    public func purgeSettled(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE state != 'queued' AND finished_at < ?", arguments: [before.unixSeconds])
            return db.changesCount
        }
    }

    public func counts() async throws -> SendingStorageCounts {
        try await pool.read { db in
            SendingStorageCounts(
                queued: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'queued'") ?? 0,
                delivered: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'") ?? 0,
                failed: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'failed'") ?? 0,
                withCiphertext: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE ciphertext IS NOT NULL") ?? 0)
        }
    }

    public func queuedCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'queued'") ?? 0 }
    }

    public func close() async {
        ServiceDatabase.close(pool)
    }
}
