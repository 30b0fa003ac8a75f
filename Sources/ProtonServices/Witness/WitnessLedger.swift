import Foundation
import GRDB
import ProtonDirectory

/// What a witness keeps (`DIR/witness.sqlite`): for each log it witnesses, the latest
/// checkpoint it cosigned. Checking a submission against it and recording the new one happen
/// in one write transaction, so two submissions for one log can never roll it back
/// (c2sp.org/tlog-witness, the race at the end of "add-checkpoint").
public final class WitnessLedger: Sendable {
    public static let fileName = "witness.sqlite"
    private let pool: DatabasePool

    public init(dataDirectory: URL) throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 witnessed") { db in
            try db.execute(
                sql: """
                    CREATE TABLE witnessed (
                        origin TEXT PRIMARY KEY NOT NULL,
                        size INTEGER NOT NULL,
                        root BLOB NOT NULL,
                        checkpoint TEXT NOT NULL,
                        cosigned_at INTEGER NOT NULL
                    ) WITHOUT ROWID
                    """)
        }
        pool = try ServiceDatabase.open(directory: dataDirectory, fileName: Self.fileName, label: "proton.witness", migrator: migrator)
    }

    public func close() { ServiceDatabase.close(pool) }

    /// The latest cosigned checkpoint of `origin`.
    public func latest(origin: String) throws -> WitnessedCheckpoint? {
        try pool.read { db in try Self.latest(origin: origin, db) }
    }

    private static func latest(origin: String, _ db: Database) throws -> WitnessedCheckpoint? {
        try Row.fetchOne(db, sql: "SELECT size, root FROM witnessed WHERE origin = ?", arguments: [origin]).map {
            WitnessedCheckpoint(size: UInt64(bitPattern: $0["size"]), rootHash: [UInt8]($0["root"] as Data))
        }
    }

    /// Checks `request` against the latest cosigned checkpoint of its log and records
    /// `checkpoint` in its place, atomically; throws the refusal and records nothing otherwise.
    public func advance(_ request: AddCheckpointRequest, checkpoint: Checkpoint, now: Date) throws -> Void {
        try pool.write { db in
            try WitnessRules.check(request, checkpoint: checkpoint, against: Self.latest(origin: checkpoint.origin, db))
            try db.execute(
                sql: """
                    INSERT INTO witnessed (origin, size, root, checkpoint, cosigned_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root,
                        checkpoint = excluded.checkpoint, cosigned_at = excluded.cosigned_at
                    """,
                arguments: [
                    checkpoint.origin, Int64(bitPattern: checkpoint.size), Data(checkpoint.rootHash), request.note.serialized,
                    Int64(now.timeIntervalSince1970),
                ])
        }
    }
}
