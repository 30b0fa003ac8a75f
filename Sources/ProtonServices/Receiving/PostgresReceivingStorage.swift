import Foundation
import Logging
import NIOCore
import PostgresNIO
import ProtonCore
import ProtonCrypto

/// `ReceivingStorage` in a PostgreSQL database that any number of receiving-service instances
/// share (docs/deployment.md). Each write is one transaction, committed (with the server's
/// `synchronous_commit`) before the method returns.
///
/// What keeps concurrent instances exact:
/// - a delivery locks its address's row (the `UPDATE` of its counters) until it commits, so the
///   quota check and the counters see every earlier delivery to that address, and message ids
///   come from the address's own counter: ids commit in increasing order per address, so a
///   fetch with `after=ID` can never skip a message that commits later with a smaller id (a
///   global sequence would allow that);
/// - the envelope's replay tag and request nonces are unique keys, inserted first: of two
///   concurrent copies one inserts, the other waits for it and finds it there;
/// - each stored message notifies the channel `proton_delivery` with its address (hex), at
///   commit: every instance wakes its own long-polls for that address (`deliveries`).
public final class PostgresReceivingStorage: ReceivingStorage {
    static let notificationChannel = "proton_delivery"

    let database: PostgresDatabase

    public static func open(_ location: PostgresLocation, logger: Logger = Logger(label: "proton.receiving.postgres")) async throws
        -> PostgresReceivingStorage
    {
        PostgresReceivingStorage(
            database: try await PostgresDatabase.open(location, service: "receiving", migrations: Self.migrations, logger: logger))
    }

    private init(database: PostgresDatabase) {
        self.database = database
    }

    static let migrations = [
        PostgresMigration(
            name: "v1 addresses, messages, nonces, seen envelopes",
            sql: """
                CREATE TABLE receiving_address (
                    id BYTEA PRIMARY KEY,
                    auth_key BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    retired_at BIGINT,
                    message_count BIGINT NOT NULL DEFAULT 0,
                    byte_count BIGINT NOT NULL DEFAULT 0,
                    last_message_id BIGINT NOT NULL DEFAULT 0
                );
                CREATE TABLE receiving_message (
                    address_id BYTEA NOT NULL REFERENCES receiving_address(id),
                    id BIGINT NOT NULL,
                    ciphertext BYTEA NOT NULL,
                    size INTEGER NOT NULL,
                    received_at BIGINT NOT NULL,
                    PRIMARY KEY (address_id, id)
                );
                CREATE INDEX receiving_message_by_age ON receiving_message(received_at);
                CREATE TABLE receiving_nonce (nonce BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL);
                CREATE INDEX receiving_nonce_by_expiry ON receiving_nonce(expires_at);
                CREATE TABLE receiving_seen_envelope (tag BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL);
                CREATE INDEX receiving_seen_envelope_by_expiry ON receiving_seen_envelope(expires_at);
                CREATE TABLE receiving_service_key (
                    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), public_key BYTEA NOT NULL);
                """)
    ]

    public func adoptServiceKey(_ publicKey: [UInt8]) async throws {
        let recorded = try await database.transaction { connection in
            try await connection.query(
                "INSERT INTO receiving_service_key (public_key) VALUES (\(publicKey.bytea)) ON CONFLICT DO NOTHING", logger: database.logger)
            var key: [UInt8]?
            for try await recorded in try await connection.query("SELECT public_key FROM receiving_service_key", logger: database.logger)
                .decode(ByteBuffer.self)
            {
                key = recorded.bytes
            }
            return key
        }
        guard recorded == publicKey else { throw PostgresDatabaseError.otherServiceKey }
    }

    public func createAddress(_ address: AddressID, authKey: Ed25519.PublicKey, now: Date) async throws -> Bool {
        let rows = try await database.query(
            """
            INSERT INTO receiving_address (id, auth_key, created_at) VALUES (\(address.bytes.bytea), \(authKey.rawRepresentation.bytea), \(now.unixSeconds))
            ON CONFLICT DO NOTHING RETURNING 1
            """)
        return try await rows.collect().count == 1
    }

    public func address(_ address: AddressID) async throws -> AddressRecord? {
        let rows = try await database.query("SELECT auth_key, retired_at FROM receiving_address WHERE id = \(address.bytes.bytea)").collect()
        guard let (key, retiredAt) = try rows.first?.decode((ByteBuffer, Int64?).self) else { return nil }
        return AddressRecord(address: address, authKey: try Ed25519.PublicKey(rawRepresentation: key.bytes), isRetired: retiredAt != nil)
    }

    public func deliver(_ message: IncomingMessage, now: Date, limits: ReceivingServiceLimits) async throws -> DeliveryOutcome {
        try await deliver([message], now: now, limits: limits)[0]
    }

    public func deliver(_ messages: [IncomingMessage], now: Date, limits: ReceivingServiceLimits) async throws -> [DeliveryOutcome] {
        guard !messages.isEmpty else { return [] }
        return try await database.transaction { connection in
            var outcomes: [DeliveryOutcome] = []
            for message in messages {
                outcomes.append(try await Self.store(message, now: now, limits: limits, on: connection, logger: database.logger))
            }
            return outcomes
        }
    }

    /// One delivery inside the caller's transaction.
    private static func store(
        _ message: IncomingMessage, now: Date, limits: ReceivingServiceLimits, on connection: PostgresConnection, logger: Logger
    ) async throws -> DeliveryOutcome {
        let address = message.address.bytes.bytea
        let size = Int64(message.ciphertext.count)
        // The tag first, before the address is looked at: a replay learns nothing of its state,
        // and a concurrent copy of this envelope waits here for this transaction's end.
        let expires = now.addingTimeInterval(limits.messageLifetime).unixSeconds
        let tagged = try await connection.query(
            "INSERT INTO receiving_seen_envelope (tag, expires_at) VALUES (\(message.replayTag.bytea), \(expires)) ON CONFLICT DO NOTHING RETURNING 1",
            logger: logger
        ).collect()
        guard tagged.count == 1 else { return .replayed }
        // Counted and numbered only within the quota; the row stays locked to the commit.
        let counted = try await connection.query(
            """
            UPDATE receiving_address SET message_count = message_count + 1, byte_count = byte_count + \(size),
                last_message_id = last_message_id + 1
            WHERE id = \(address) AND retired_at IS NULL AND message_count < \(Int64(limits.maximumMessagesPerAddress))
                AND byte_count + \(size) <= \(Int64(limits.maximumBytesPerAddress))
            RETURNING last_message_id
            """, logger: logger
        ).collect()
        guard let id = try counted.first?.decode(Int64.self) else {
            // Refused: the tag goes again, so that nothing of this delivery remains.
            try await connection.query("DELETE FROM receiving_seen_envelope WHERE tag = \(message.replayTag.bytea)", logger: logger)
            let state = try await connection.query(
                "SELECT retired_at, message_count, byte_count FROM receiving_address WHERE id = \(address)", logger: logger
            ).collect()
            guard let (retiredAt, messageCount, _) = try state.first?.decode((Int64?, Int64, Int64).self) else { return .unknownAddress }
            if retiredAt != nil { return .retired }
            if messageCount >= Int64(limits.maximumMessagesPerAddress) { return .overMessageQuota }
            return .overByteQuota
        }
        try await connection.query(
            """
            INSERT INTO receiving_message (address_id, id, ciphertext, size, received_at)
            VALUES (\(address), \(id), \(message.ciphertext.bytea), \(Int32(size)), \(now.unixSeconds))
            """, logger: logger)
        try await connection.query(
            "SELECT pg_notify(\(notificationChannel), \(message.address.hex))", logger: logger)
        return .stored(id: id)
    }

    public func messages(for address: AddressID, after: Int64, receivedAfter notBefore: Date, limit: Int) async throws
        -> [ServiceAPI.StoredMessage]
    {
        let rows = try await database.query(
            """
            SELECT id, ciphertext, received_at FROM receiving_message
            WHERE address_id = \(address.bytes.bytea) AND id > \(after) AND received_at > \(notBefore.unixSeconds)
            ORDER BY id LIMIT \(Int64(limit))
            """
        ).collect()
        return try rows.map { row in
            let (id, ciphertext, receivedAt) = try row.decode((Int64, ByteBuffer, Int64).self)
            return ServiceAPI.StoredMessage(id: id, ciphertext: Base64URL.encode(ciphertext.bytes), receivedAt: receivedAt)
        }
    }

    public func acknowledge(_ address: AddressID, upTo: Int64) async throws -> Int {
        let address = address.bytes.bytea
        return try await database.transaction { connection in
            let rows = try await connection.query(
                """
                WITH gone AS (DELETE FROM receiving_message WHERE address_id = \(address) AND id <= \(upTo) RETURNING size),
                totals AS (SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM gone)
                UPDATE receiving_address SET message_count = message_count - totals.n, byte_count = byte_count - totals.bytes
                FROM totals WHERE id = \(address) AND totals.n > 0
                RETURNING totals.n
                """, logger: database.logger
            ).collect()
            return Int(try rows.first?.decode(Int64.self) ?? 0)
        }
    }

    public func retire(_ address: AddressID, now: Date) async throws {
        let address = address.bytes.bytea
        try await database.transaction { connection in
            // The address row first, so that a delivery waiting on it then sees it retired.
            try await connection.query(
                """
                UPDATE receiving_address SET retired_at = COALESCE(retired_at, \(now.unixSeconds)), message_count = 0, byte_count = 0
                WHERE id = \(address)
                """, logger: database.logger)
            try await connection.query("DELETE FROM receiving_message WHERE address_id = \(address)", logger: database.logger)
        }
    }

    public func recordNonce(_ nonce: [UInt8], expires: Date) async throws -> Bool {
        let rows = try await database.query(
            "INSERT INTO receiving_nonce (nonce, expires_at) VALUES (\(nonce.bytea), \(expires.unixSeconds)) ON CONFLICT DO NOTHING RETURNING 1")
        return try await rows.collect().count == 1
    }

    public func sweep(messagesBefore: Date, now: Date) async throws -> SweepResult {
        let cutoff = messagesBefore.unixSeconds
        let current = now.unixSeconds
        return try await database.transaction { connection in
            let swept = try await connection.query(
                """
                WITH gone AS (DELETE FROM receiving_message WHERE received_at <= \(cutoff) RETURNING address_id, size),
                totals AS (SELECT address_id, COUNT(*) AS n, SUM(size) AS bytes FROM gone GROUP BY address_id),
                counted AS (
                    UPDATE receiving_address SET message_count = message_count - totals.n, byte_count = byte_count - totals.bytes
                    FROM totals WHERE receiving_address.id = totals.address_id RETURNING totals.n)
                SELECT COALESCE(SUM(n), 0)::BIGINT AS n FROM counted
                """, logger: database.logger
            ).collect()
            let nonces = try await connection.query(
                "DELETE FROM receiving_nonce WHERE expires_at < \(current) RETURNING 1", logger: database.logger
            ).collect().count
            try await connection.query("DELETE FROM receiving_seen_envelope WHERE expires_at < \(current)", logger: database.logger)
            return SweepResult(messages: Int(try swept.first?.decode(Int64.self) ?? 0), nonces: nonces)
        }
    }

    public func counts() async throws -> ReceivingStorageCounts {
        let rows = try await database.query(
            """
            SELECT (SELECT COUNT(*) FROM receiving_address) AS addresses,
                (SELECT COUNT(*) FROM receiving_address WHERE retired_at IS NOT NULL) AS retired,
                (SELECT COUNT(*) FROM receiving_message) AS messages,
                (SELECT COUNT(*) FROM receiving_nonce) AS nonces
            """
        ).collect()
        let (addresses, retired, messages, nonces) = try rows[0].decode((Int64, Int64, Int64, Int64).self)
        return ReceivingStorageCounts(addresses: Int(addresses), retiredAddresses: Int(retired), messages: Int(messages), nonces: Int(nonces))
    }

    /// Calls `delivered` with the address of every message stored by any instance, until
    /// cancelled; reconnects after a lost connection (a wake missed meanwhile only delays a
    /// long-poll to its deadline: the fetch reads the table, not the notification).
    public func deliveries(_ delivered: @escaping @Sendable (AddressID) async -> Void) async throws {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: Self.notificationChannel) { notifications in
                        for try await notification in notifications {
                            if let address = try? AddressID(hex: notification.payload) { await delivered(address) }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                database.logger.warning("listening for deliveries failed; listening again", metadata: ["error": "\(PostgresDatabase.reason(error))"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    public func close() async {
        database.close()
    }
}
