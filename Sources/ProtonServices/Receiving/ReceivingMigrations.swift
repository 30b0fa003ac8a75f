import GRDB

/// The receiving service's schema as named migrations. A released migration is never edited.
enum ReceivingMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1 addresses") { db in
            // Counters kept beside the address make the quota check one row read per delivery.
            try db.execute(
                sql: """
                    CREATE TABLE address (
                        id BLOB PRIMARY KEY NOT NULL,
                        auth_key BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        retired_at INTEGER,
                        message_count INTEGER NOT NULL DEFAULT 0,
                        byte_count INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID
                    """)
        }

        migrator.registerMigration("v1 messages") { db in
            // AUTOINCREMENT: ids never come back after the highest is acknowledged, so
            // `after=ID` can never skip a newer message.
            try db.execute(
                sql: """
                    CREATE TABLE message (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        address_id BLOB NOT NULL REFERENCES address(id),
                        ciphertext BLOB NOT NULL,
                        size INTEGER NOT NULL,
                        received_at INTEGER NOT NULL
                    );
                    CREATE INDEX message_by_address ON message(address_id, id);
                    CREATE INDEX message_by_age ON message(received_at);
                    """)
        }

        migrator.registerMigration("v1 nonces") { db in
            try db.execute(
                sql: """
                    CREATE TABLE seen_nonce (
                        nonce BLOB PRIMARY KEY NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX seen_nonce_by_expiry ON seen_nonce(expires_at);
                    """)
        }

        migrator.registerMigration("v2 seen envelopes") { db in
            // The sealed box's ephemeral key of every envelope stored, kept for the message
            // lifetime: the same envelope again is a replay and changes nothing.
            try db.execute(
                sql: """
                    CREATE TABLE seen_envelope (
                        tag BLOB PRIMARY KEY NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX seen_envelope_by_expiry ON seen_envelope(expires_at);
                    """)
        }

        return migrator
    }
}
