import Foundation
import GRDB

/// The schema, as named migrations applied in order. A released migration is never edited: a
/// change to the schema is a new migration appended here.
enum StoreMigrations {
    /// Bumped only when a migration changes what the columns mean, not for every new table.
    /// 2: proton states may be of version 3 (`Proton+State`, `DoubleRatchet+State`), which an
    /// older release would take for damage.
    /// 3: the services and the directory trust state live in the database (`documents`); an
    /// older release would find no services.json or directories.json and start empty.
    /// 4: proton states may be of version 4 (the checkpoints given to the peer), which an
    /// older release would take for damage.
    static let formatVersion = 4

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1 profile") { db in
            try db.create(table: ProfileRecord.databaseTableName) { t in
                t.primaryKey("id", .integer).check { $0 == ProfileRecord.singletonID }
                t.column("created", .datetime).notNull()
                t.column("format_version", .integer).notNull()
                t.column("kdf_salt", .blob)
                t.column("kdf_operations", .integer)
                t.column("kdf_memory_bytes", .integer)
                t.column("key_check", .blob)
            }
        }

        migrator.registerMigration("v1 personas") { db in
            try db.create(table: PersonaRecord.databaseTableName) { t in
                t.primaryKey("id", .text)
                t.column("display_name", .text).notNull()
                t.column("identity_key", .blob).notNull().unique()
                t.column("identity_seed", .blob).notNull()
                t.column("created", .datetime).notNull()
            }
        }

        migrator.registerMigration("v1 protons") { db in
            try db.create(table: ProtonRecord.databaseTableName) { t in
                t.primaryKey("id", .text)
                t.column("persona_id", .text).notNull().indexed()
                    .references(PersonaRecord.databaseTableName, onDelete: .restrict)
                t.column("peer_identity", .blob).notNull()
                t.column("peer_display_name", .text)
                t.column("relationship_id", .text).notNull().unique()
                t.column("state", .blob).notNull()
                t.column("created", .datetime).notNull()
                t.column("updated", .datetime).notNull()
            }
        }

        migrator.registerMigration("v1 skipped keys") { db in
            try db.create(table: SkippedKeyRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("proton_id", .text).notNull().indexed()
                    .references(ProtonRecord.databaseTableName, onDelete: .cascade)
                t.column("header_key", .blob).notNull()
                t.column("message_number", .integer).notNull()
                t.column("message_key", .blob).notNull()
                t.column("stored_at", .datetime).notNull()
            }
        }

        migrator.registerMigration("v1 messages") { db in
            try db.create(table: MessageRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("proton_id", .text).notNull().indexed()
                    .references(ProtonRecord.databaseTableName, onDelete: .cascade)
                t.column("direction", .text).notNull().check { ["in", "out"].contains($0) }
                t.column("body", .blob).notNull()
                t.column("address", .text)
                t.column("timestamp", .datetime).notNull()
            }
        }

        migrator.registerMigration("v1 outbox") { db in
            try db.create(table: OutboxRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("proton_id", .text).notNull().indexed()
                    .references(ProtonRecord.databaseTableName, onDelete: .cascade)
                t.column("message_id", .integer)
                    .references(MessageRecord.databaseTableName, onDelete: .setNull)
                t.column("ciphertext", .blob).notNull()
                t.column("routes", .blob).notNull()
                t.column("created", .datetime).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("last_attempt", .datetime)
            }
        }

        migrator.registerMigration("v2 invites") { db in
            try db.create(table: PendingInviteRecord.databaseTableName) { t in
                t.primaryKey("id", .text)
                t.column("persona_id", .text).notNull().indexed()
                    .references(PersonaRecord.databaseTableName, onDelete: .cascade)
                t.column("prekey", .blob).notNull().unique()
                t.column("prekey_secret", .blob)
                t.column("service_uri", .text).notNull()
                t.column("service_key", .blob).notNull()
                t.column("address", .text).notNull().unique()
                t.column("auth_seed", .blob)
                t.column("invite", .blob).notNull()
                t.column("expires", .datetime).notNull()
                t.column("created", .datetime).notNull()
                t.column("used", .datetime)
                t.column("proton_id", .text)
                    .references(ProtonRecord.databaseTableName, onDelete: .setNull)
            }
            try db.create(table: AcceptedInviteRecord.databaseTableName) { t in
                t.primaryKey("prekey", .blob)
                t.column("proton_id", .text)
                    .references(ProtonRecord.databaseTableName, onDelete: .setNull)
                t.column("accepted", .datetime).notNull()
            }
            try db.create(table: SpareAddressRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("service_uri", .text).notNull()
                t.column("service_key", .blob).notNull()
                t.column("address", .text).notNull().unique()
                t.column("auth_seed", .blob).notNull()
                t.column("created", .datetime).notNull()
            }
        }

        migrator.registerMigration("v3 key packages") { db in
            try db.create(table: KeyPackageRecord.databaseTableName) { t in
                t.primaryKey("id", .text)
                t.column("persona_id", .text).notNull().indexed()
                    .references(PersonaRecord.databaseTableName, onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("signed_prekey", .blob).notNull().unique()
                t.column("signed_prekey_secret", .blob).notNull()
                t.column("service_uri", .text).notNull()
                t.column("service_key", .blob).notNull()
                t.column("address", .text).notNull().unique()
                t.column("auth_seed", .blob).notNull()
                t.column("package", .blob).notNull()
                t.column("expires", .datetime).notNull()
                t.column("created", .datetime).notNull()
            }
            try db.create(table: OneTimePrekeyRecord.databaseTableName) { t in
                t.primaryKey("prekey", .blob)
                t.column("key_package_id", .text).notNull().indexed()
                    .references(KeyPackageRecord.databaseTableName, onDelete: .cascade)
                t.column("secret", .blob)
                t.column("used", .datetime)
                t.column("proton_id", .text)
                    .references(ProtonRecord.databaseTableName, onDelete: .setNull)
            }
        }

        migrator.registerMigration("v4 message order") { db in
            // sequence: the sender's message number (incoming: the peer's, from the payload);
            // held: an incoming message that overtook an earlier one, not yet shown; position:
            // the order the log shows, set when a message is shown (NULL while held).
            try db.execute(
                sql: """
                    ALTER TABLE messages ADD COLUMN sequence INTEGER;
                    ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE messages ADD COLUMN position INTEGER;
                    UPDATE messages SET position = id;
                    CREATE INDEX messages_by_position ON messages(proton_id, position);
                    CREATE INDEX messages_held ON messages(proton_id, sequence) WHERE held = 1;
                    """)
        }

        migrator.registerMigration("v5 state digest") { db in
            // A checksum of each stored proton state (ProtonRecord.stateDigest), so a state whose
            // bytes changed is refused as damaged instead of ratcheting on from wrong keys.
            try db.execute(sql: "ALTER TABLE protons ADD COLUMN state_digest BLOB")
            let rows = try Row.fetchAll(db, sql: "SELECT id, state FROM protons")
            for row in rows {
                let id: String = row["id"]
                let state: Data = row["state"]
                try db.execute(
                    sql: "UPDATE protons SET state_digest = ? WHERE id = ?", arguments: [ProtonRecord.digest(id: id, state: state), id])
            }
        }

        migrator.registerMigration("v6 state version 3") { db in
            // Nothing to convert: states are rewritten in the new version as they change. The
            // migration itself makes an older release refuse this profile as newer (rather
            // than report its version 3 states as damaged).
            try db.execute(sql: "UPDATE profile SET format_version = 2")
        }

        migrator.registerMigration("v7 receive cursors") { db in
            // Were receive-state.json beside the database, written after the transaction that
            // recorded the message; the receive agent takes that file in and deletes it.
            try db.execute(
                sql: """
                    CREATE TABLE receive_cursors (
                        address TEXT PRIMARY KEY NOT NULL,
                        recorded INTEGER NOT NULL DEFAULT 0,
                        acknowledged INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID
                    """)
        }

        migrator.registerMigration("v8 documents") { db in
            // Were services.json and directories.json beside the database (each written whole
            // and renamed); `ProfileStore.document(_:)` takes each file in once, in a
            // transaction, and deletes it.
            try db.execute(
                sql: """
                    CREATE TABLE documents (
                        name TEXT PRIMARY KEY NOT NULL,
                        value BLOB NOT NULL,
                        updated DATETIME NOT NULL
                    ) WITHOUT ROWID;
                    UPDATE profile SET format_version = 3;
                    """)
        }

        migrator.registerMigration("v9 checkpoint gossip") { db in
            // Checkpoints contacts gossiped, waiting to be weighed against the directory logs
            // this profile follows (`ProfileStore+Gossip`).
            try db.execute(
                sql: """
                    CREATE TABLE gossiped_checkpoints (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        proton_id TEXT NOT NULL,
                        note BLOB NOT NULL,
                        received DATETIME NOT NULL
                    );
                    UPDATE profile SET format_version = 4;
                    """)
        }

        migrator.registerMigration("v10 KEM prekeys") { db in
            // Hybrid key packages (PQXDH): the last-resort ML-KEM seed, and each one-time
            // prekey's, sealed like the other secrets.
            try db.execute(
                sql: """
                    ALTER TABLE key_packages ADD COLUMN kem_seed BLOB;
                    ALTER TABLE one_time_prekeys ADD COLUMN kem_seed BLOB;
                    """)
        }

        return migrator
    }
}
