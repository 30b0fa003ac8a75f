import Foundation
import GRDB
import ProtonCore
import ProtonDirectory

/// `BrokerStorage` in `broker.sqlite`, beside the registry's files in the data directory.
final class SQLiteBrokerStorage: BrokerStorage {
    static let databaseFileName = "broker.sqlite"

    private let pool: DatabasePool

    init(dataDirectory: URL) throws {
        pool = try ServiceDatabase.open(
            directory: dataDirectory, fileName: Self.databaseFileName, label: "ProtonBroker", migrator: Self.migrator)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 broker") { db in
            try db.execute(
                sql: """
                    CREATE TABLE key_package (
                        name TEXT PRIMARY KEY NOT NULL,
                        identity_key BLOB NOT NULL CHECK (length(identity_key) = 32),
                        package BLOB NOT NULL,
                        rule TEXT NOT NULL CHECK (rule IN ('open', 'attested', 'approval')),
                        trusted TEXT NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE one_time_prekey (
                        name TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        prekey BLOB NOT NULL CHECK (length(prekey) = 32),
                        PRIMARY KEY (name, seq)
                    ) WITHOUT ROWID;
                    CREATE TABLE contact_request (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        requester_key BLOB NOT NULL CHECK (length(requester_key) = 32),
                        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
                        created_at INTEGER NOT NULL,
                        UNIQUE (name, requester_key)
                    ) WITHOUT ROWID;
                    CREATE TABLE fetch_event (
                        requester_key BLOB NOT NULL,
                        at REAL NOT NULL
                    );
                    CREATE INDEX fetch_event_by_requester ON fetch_event (requester_key, at);
                    """)
        }
        // Every fetch deletes the events that left the window: by time, across requesters.
        migrator.registerMigration("v2 fetch events by time") { db in
            try db.execute(sql: "CREATE INDEX fetch_event_by_time ON fetch_event (at)")
        }
        // When each name handed out a one-time prekey: a budget per name, not per requester.
        migrator.registerMigration("v3 prekeys taken") { db in
            try db.execute(
                sql: """
                    CREATE TABLE prekey_taken (name TEXT NOT NULL, at REAL NOT NULL);
                    CREATE INDEX prekey_taken_by_name ON prekey_taken (name, at);
                    CREATE INDEX prekey_taken_by_time ON prekey_taken (at);
                    """)
        }
        // A hybrid package's one-time prekeys carry their ML-KEM key and its signature (the
        // entry's last 1,248 bytes), taken with the prekey in the same row.
        migrator.registerMigration("v4 one-time KEM prekeys") { db in
            try db.execute(sql: "ALTER TABLE one_time_prekey ADD COLUMN kem BLOB CHECK (kem IS NULL OR length(kem) = 1248)")
        }
        return migrator
    }

    func publish(_ entry: BrokerStorageEntry, prekeys: [BrokerStorageEntry.Prekey]) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM contact_request WHERE name = ? AND EXISTS (SELECT 1 FROM key_package WHERE name = ? AND identity_key <> ?)",
                arguments: [entry.name, entry.name, Data(entry.identityKey)])
            try db.execute(sql: "DELETE FROM one_time_prekey WHERE name = ?", arguments: [entry.name])
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO key_package (name, identity_key, package, rule, trusted, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [entry.name, Data(entry.identityKey), Data(entry.package), entry.rule, entry.trusted, entry.expiresAt])
            for (seq, prekey) in prekeys.enumerated() {
                try db.execute(
                    sql: "INSERT INTO one_time_prekey (name, seq, prekey, kem) VALUES (?, ?, ?, ?)",
                    arguments: [entry.name, seq, Data(prekey.prekey), prekey.kem.map { Data($0) }])
            }
        }
    }

    func requests(name: String) async throws -> [BrokerAPI.ContactRequest] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, requester_key, state, created_at FROM contact_request WHERE name = ? ORDER BY created_at, id",
                arguments: [name]
            ).map { row in
                BrokerAPI.ContactRequest(
                    id: row["id"], requesterKey: Base64URL.encode([UInt8](row["requester_key"] as Data)), state: row["state"],
                    created: row["created_at"])
            }
        }
    }

    func decide(name: String, requestID: String, approve: Bool) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE contact_request SET state = ? WHERE id = ? AND name = ?",
                arguments: [approve ? "approved" : "denied", requestID, name])
            return db.changesCount == 1
        }
    }

    func fetch(
        name: String, requester: [UInt8], now: Date, window: TimeInterval, _ rules: @escaping @Sendable (BrokerFetchFacts) throws -> BrokerFetchDecision
    ) async throws -> BrokerFetchDecision {
        // A refusal after the rate-limit record is an outcome, not an error, so that the write
        // commits; an error thrown by `rules` rolls everything back.
        try await pool.write { db in
            let windowStart = now.timeIntervalSince1970 - window
            try db.execute(sql: "DELETE FROM fetch_event WHERE at < ?", arguments: [windowStart])
            try db.execute(sql: "DELETE FROM prekey_taken WHERE at < ?", arguments: [windowStart])
            let requesterKey = Data(requester)
            let package = try Row.fetchOne(
                db, sql: "SELECT identity_key, package, rule, trusted, expires_at FROM key_package WHERE name = ?", arguments: [name]
            ).map { row in
                BrokerStorageEntry(
                    name: name, identityKey: [UInt8](row["identity_key"] as Data), package: [UInt8](row["package"] as Data), rule: row["rule"],
                    trusted: row["trusted"], expiresAt: row["expires_at"])
            }
            let request = try Row.fetchOne(
                db, sql: "SELECT id, state FROM contact_request WHERE name = ? AND requester_key = ?", arguments: [name, requesterKey])
            let prekey = try Row.fetchOne(db, sql: "SELECT seq, prekey, kem FROM one_time_prekey WHERE name = ? ORDER BY seq LIMIT 1", arguments: [name])
            let facts = BrokerFetchFacts(
                package: package,
                recentFetches: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM fetch_event WHERE requester_key = ? AND at >= ?", arguments: [requesterKey, windowStart]) ?? 0,
                oldestFetch: try Double.fetchOne(db, sql: "SELECT min(at) FROM fetch_event WHERE requester_key = ?", arguments: [requesterKey]),
                request: request.map { BrokerFetchFacts.Request(id: $0["id"], state: $0["state"]) },
                pendingRequests: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM contact_request WHERE name = ? AND state = 'pending'", arguments: [name]) ?? 0,
                prekeysTaken: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM prekey_taken WHERE name = ? AND at >= ?", arguments: [name, windowStart]) ?? 0,
                prekey: prekey.map { row in
                    BrokerFetchFacts.Prekey(
                        seq: row["seq"], prekey: [UInt8](row["prekey"] as Data), kem: (row["kem"] as Data?).map { [UInt8]($0) })
                })
            let decision = try rules(facts)
            try db.execute(
                sql: "INSERT INTO fetch_event (requester_key, at) VALUES (?, ?)", arguments: [requesterKey, now.timeIntervalSince1970])
            if let id = decision.newRequestID {
                try db.execute(
                    sql: "INSERT INTO contact_request (id, name, requester_key, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
                    arguments: [id, name, requesterKey, Int64(now.timeIntervalSince1970)])
            }
            if let seq = decision.takePrekey {
                try db.execute(sql: "DELETE FROM one_time_prekey WHERE name = ? AND seq = ?", arguments: [name, seq])
                try db.execute(sql: "INSERT INTO prekey_taken (name, at) VALUES (?, ?)", arguments: [name, now.timeIntervalSince1970])
            }
            return decision
        }
    }

    func remainingPrekeys(name: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM one_time_prekey WHERE name = ?", arguments: [name]) ?? 0 }
    }

    func close() { ServiceDatabase.close(pool) }
}
