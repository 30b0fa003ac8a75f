import GRDB

/// The sending service's schema as named migrations. A released migration is never edited.
enum SendingMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1 outbox") { db in
            // sealed_address and ciphertext are nulled when a message settles; the status row
            // stays for GET /v1/send/{id}.
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        id TEXT PRIMARY KEY NOT NULL,
                        receiving_service TEXT NOT NULL,
                        sealed_address BLOB,
                        ciphertext BLOB,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        http_status INTEGER,
                        error TEXT,
                        created_at INTEGER NOT NULL,
                        next_attempt_at DOUBLE NOT NULL,
                        finished_at INTEGER
                    );
                    CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
                    """)
        }

        migrator.registerMigration("v2 service key and outcome") { db in
            // Rows queued before this migration have no service key: the forwarder refuses them,
            // as it can no longer check where they would go.
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN service_key BLOB;
                    ALTER TABLE outbox ADD COLUMN outcome TEXT;
                    """)
        }

        return migrator
    }
}
