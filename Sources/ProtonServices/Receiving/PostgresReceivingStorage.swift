import Foundation
import Logging
import NIOCore
import PostgresNIO
import ProtonCore
import ProtonCrypto
import Synchronization

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
/// - each stored message notifies the channel `proton_delivery` with its address (hex), after
///   its commit: every instance wakes its own long-polls for that address (`deliveries`);
/// - every writer that touches an address locks its row before its messages, and a batch of
///   deliveries locks its addresses in their order, so that concurrent writers do not deadlock
///   on them. Replay tags are taken before their address: two batches holding the same two
///   envelopes in opposite orders (a client that resent through another sending service) can
///   deadlock; PostgreSQL ends one of them after a second and it is run again (`transaction`).
public final class PostgresReceivingStorage: ReceivingStorage {
    static let notificationChannel = "proton_delivery"

    let database: PostgresDatabase
    /// How often the listening connection is checked (`deliveries`).
    let listenerCheck: Duration

    public static func open(
        _ location: PostgresLocation, listenerCheck: Duration = .seconds(20), logger: Logger = Logger(label: "proton.receiving.postgres")
    ) async throws -> PostgresReceivingStorage {
        PostgresReceivingStorage(
            database: try await PostgresDatabase.open(location, service: "receiving", migrations: Self.migrations, logger: logger),
            listenerCheck: listenerCheck)
    }

    private init(database: PostgresDatabase, listenerCheck: Duration) {
        self.database = database
        self.listenerCheck = listenerCheck
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
                """),
        // A batch of deliveries in one call (one round trip instead of one per message).
        // Databases that applied v2 before its refusals were judged under the row's lock get
        // the current function from v3; a new database runs both (the same text twice).
        PostgresMigration(name: "v2 deliveries in one call", statements: [deliverFunction]),
        PostgresMigration(name: "v3 refusals judged under the address's lock", statements: [deliverFunction]),
    ]

    /// `receiving_deliver`: each delivery stored exactly as `SQLiteReceivingStorage.store`
    /// does one by one: the envelope's tag first (a replay learns nothing of the address; a
    /// concurrent copy waits for this transaction), then the address's counters within its
    /// quota (its row locked to the commit, its next id the message's), then the message; a
    /// refusal takes its tag back and says why. The usual case is one conditional UPDATE; a
    /// refusal is then judged on the row locked, so that an address created, or a message
    /// acknowledged, between the two statements cannot be refused for the wrong reason (it is
    /// stored: its conditions now hold). Outcomes: 0 stored (with its id), 1 replayed, 2
    /// unknown address, 3 retired, 4 over the message quota, 5 over the byte quota.
    static let deliverFunction = """
        CREATE OR REPLACE FUNCTION receiving_deliver(
            addresses BYTEA[], tags BYTEA[], ciphertexts BYTEA[], received_at BIGINT, expires_at BIGINT,
            maximum_messages BIGINT, maximum_bytes BIGINT)
        RETURNS TABLE (ord INTEGER, outcome SMALLINT, message_id BIGINT)
        LANGUAGE plpgsql AS $$
        DECLARE
            size BIGINT;
            stored_id BIGINT;
            retired BIGINT;
            messages BIGINT;
            bytes BIGINT;
        BEGIN
            FOR i IN 1 .. COALESCE(array_length(addresses, 1), 0) LOOP
                ord := i;
                message_id := NULL;
                INSERT INTO receiving_seen_envelope (tag, expires_at) VALUES (tags[i], receiving_deliver.expires_at) ON CONFLICT DO NOTHING;
                IF NOT FOUND THEN
                    outcome := 1;
                    RETURN NEXT;
                    CONTINUE;
                END IF;
                size := octet_length(ciphertexts[i]);
                stored_id := NULL;
                UPDATE receiving_address AS a
                    SET message_count = a.message_count + 1, byte_count = a.byte_count + size, last_message_id = a.last_message_id + 1
                    WHERE a.id = addresses[i] AND a.retired_at IS NULL
                        AND a.message_count < maximum_messages AND a.byte_count + size <= maximum_bytes
                    RETURNING a.last_message_id INTO stored_id;
                IF stored_id IS NULL THEN
                    SELECT a.retired_at, a.message_count, a.byte_count INTO retired, messages, bytes
                        FROM receiving_address AS a WHERE a.id = addresses[i] FOR UPDATE;
                    IF NOT FOUND THEN
                        outcome := 2;
                    ELSIF retired IS NOT NULL THEN
                        outcome := 3;
                    ELSIF messages >= maximum_messages THEN
                        outcome := 4;
                    ELSIF bytes + size > maximum_bytes THEN
                        outcome := 5;
                    ELSE
                        UPDATE receiving_address AS a
                            SET message_count = a.message_count + 1, byte_count = a.byte_count + size, last_message_id = a.last_message_id + 1
                            WHERE a.id = addresses[i]
                            RETURNING a.last_message_id INTO stored_id;
                    END IF;
                END IF;
                IF stored_id IS NOT NULL THEN
                    INSERT INTO receiving_message (address_id, id, ciphertext, size, received_at)
                        VALUES (addresses[i], stored_id, ciphertexts[i], size, receiving_deliver.received_at);
                    outcome := 0;
                    message_id := stored_id;
                ELSE
                    DELETE FROM receiving_seen_envelope AS s WHERE s.tag = tags[i];
                END IF;
                RETURN NEXT;
            END LOOP;
        END
        $$
        """

    public func adoptServiceKey(_ publicKey: [UInt8]) async throws {
        let recorded = try await database.transaction { transaction in
            try await transaction.query(
                "INSERT INTO receiving_service_key (public_key) VALUES (\(publicKey.bytea)) ON CONFLICT DO NOTHING")
            return try await transaction.query("SELECT public_key FROM receiving_service_key").first?.decode(ByteBuffer.self).bytes
        }
        guard recorded == publicKey else { throw PostgresDatabaseError.otherServiceKey }
    }

    public func createAddress(_ address: AddressID, authKey: Ed25519.PublicKey, now: Date) async throws -> Bool {
        let rows = try await database.query(
            """
            INSERT INTO receiving_address (id, auth_key, created_at) VALUES (\(address.bytes.bytea), \(authKey.rawRepresentation.bytea), \(now.unixSeconds))
            ON CONFLICT DO NOTHING RETURNING 1
            """)
        return rows.count == 1
    }

    public func address(_ address: AddressID) async throws -> AddressRecord? {
        let rows = try await database.query("SELECT auth_key, retired_at FROM receiving_address WHERE id = \(address.bytes.bytea)")
        guard let (key, retiredAt) = try rows.first?.decode((ByteBuffer, Int64?).self) else { return nil }
        return AddressRecord(address: address, authKey: try Ed25519.PublicKey(rawRepresentation: key.bytes), isRetired: retiredAt != nil)
    }

    public func deliver(_ message: IncomingMessage, now: Date, limits: ReceivingServiceLimits) async throws -> DeliveryOutcome {
        try await deliver([message], now: now, limits: limits)[0]
    }

    public func deliver(_ messages: [IncomingMessage], now: Date, limits: ReceivingServiceLimits) async throws -> [DeliveryOutcome] {
        guard !messages.isEmpty else { return [] }
        // Stored in the order of their addresses (each address's own messages keep theirs, for
        // its quota), so that two batches lock the same address rows in the same order. Unless
        // one tag comes under two addresses: which of its copies is stored and which is a
        // replay then depends on the order across addresses, and the batch is judged in the
        // order given, as one by one (a deadlock that order may cause is retried). A tag twice
        // under one address (a resend) keeps its order either way.
        var addressOfTag: [[UInt8]: AddressID] = [:]
        let tagUnderTwoAddresses = messages.contains { message in
            addressOfTag.updateValue(message.address, forKey: message.replayTag).map { $0 != message.address } ?? false
        }
        let order = tagUnderTwoAddresses
            ? Array(messages.indices) : messages.indices.sorted { (messages[$0].address, $0) < (messages[$1].address, $1) }
        let outcomes = try await database.transaction { transaction in
            let rows = try await transaction.query(
                """
                SELECT ord, outcome, message_id FROM receiving_deliver(
                    \(order.map { messages[$0].address.bytes.bytea }), \(order.map { messages[$0].replayTag.bytea }),
                    \(order.map { messages[$0].ciphertext.bytea }), \(now.unixSeconds),
                    \(now.addingTimeInterval(limits.messageLifetime).unixSeconds), \(Int64(limits.maximumMessagesPerAddress)),
                    \(Int64(limits.maximumBytesPerAddress)))
                """)
            var outcomes = [DeliveryOutcome?](repeating: nil, count: messages.count)
            for row in rows {
                let (position, code, id) = try row.decode((Int32, Int16, Int64?).self)
                guard (1...order.count).contains(Int(position)), let outcome = Self.outcome(code, id: id) else {
                    throw PostgresDatabaseError.unusable(location: "receiving_deliver", reason: "it answered an unknown outcome")
                }
                outcomes[order[Int(position) - 1]] = outcome
            }
            guard !outcomes.contains(where: { $0 == nil }) else {
                throw PostgresDatabaseError.unusable(location: "receiving_deliver", reason: "it answered \(rows.count) outcomes for \(messages.count) deliveries")
            }
            return outcomes.compactMap { $0 }
        }
        // After the commit, in a statement of its own: a NOTIFY in the delivery's transaction
        // would hold PostgreSQL's one notification lock through that commit's flush, so that
        // deliveries of every instance would commit one at a time. A wake-up lost here (the
        // database gone in between) only leaves a long-poll to its deadline.
        let stored = zip(messages, outcomes).compactMap { message, outcome -> String? in
            if case .stored = outcome { message.address.hex } else { nil }
        }
        if !stored.isEmpty {
            _ = try? await database.query("SELECT pg_notify(\(Self.notificationChannel), address) FROM unnest(\(stored)::text[]) AS address")
        }
        return outcomes
    }

    /// What `receiving_deliver` answered for one delivery.
    private static func outcome(_ code: Int16, id: Int64?) -> DeliveryOutcome? {
        switch code {
        case 0: id.map { .stored(id: $0) }
        case 1: .replayed
        case 2: .unknownAddress
        case 3: .retired
        case 4: .overMessageQuota
        case 5: .overByteQuota
        default: nil
        }
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
        )
        return try rows.map { row in
            let (id, ciphertext, receivedAt) = try row.decode((Int64, ByteBuffer, Int64).self)
            return ServiceAPI.StoredMessage(id: id, ciphertext: Base64URL.encode(ciphertext.bytes), receivedAt: receivedAt)
        }
    }

    public func acknowledge(_ address: AddressID, upTo: Int64) async throws -> Int {
        try await deleteMessages(of: address.bytes.bytea, .upTo(upTo))
    }

    /// Which of an address's messages `deleteMessages` takes.
    private enum Selection {
        /// Those with an id at most this (an acknowledgement).
        case upTo(Int64)
        /// Those received at or before this many seconds since 1970 (a sweep).
        case receivedBy(Int64)
    }

    /// Deletes the messages of one address that `selection` names and keeps its counters in
    /// step, in one transaction that locks the address's row first, as every writer does: no
    /// two lock orders, no deadlock. Returns how many went.
    private func deleteMessages(of address: ByteBuffer, _ selection: Selection) async throws -> Int {
        try await database.transaction { transaction in
            try await transaction.query("SELECT 1 FROM receiving_address WHERE id = \(address) FOR UPDATE")
            let (upTo, receivedBy): (Int64?, Int64?) = switch selection {
            case .upTo(let id): (id, nil)
            case .receivedBy(let cutoff): (nil, cutoff)
            }
            let rows = try await transaction.query(
                """
                WITH gone AS (DELETE FROM receiving_message WHERE address_id = \(address)
                    AND (\(upTo)::bigint IS NULL OR id <= \(upTo)) AND (\(receivedBy)::bigint IS NULL OR received_at <= \(receivedBy))
                    RETURNING size),
                totals AS (SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM gone)
                UPDATE receiving_address SET message_count = message_count - totals.n, byte_count = byte_count - totals.bytes
                FROM totals WHERE id = \(address) AND totals.n > 0
                RETURNING totals.n
                """)
            return Int(try rows.first?.decode(Int64.self) ?? 0)
        }
    }

    public func retire(_ address: AddressID, now: Date) async throws {
        let address = address.bytes.bytea
        try await database.transaction { transaction in
            // The address row first, so that a delivery waiting on it then sees it retired.
            try await transaction.query(
                """
                UPDATE receiving_address SET retired_at = COALESCE(retired_at, \(now.unixSeconds)), message_count = 0, byte_count = 0
                WHERE id = \(address)
                """)
            try await transaction.query("DELETE FROM receiving_message WHERE address_id = \(address)")
        }
    }

    public func recordNonce(_ nonce: [UInt8], expires: Date) async throws -> Bool {
        let rows = try await database.query(
            "INSERT INTO receiving_nonce (nonce, expires_at) VALUES (\(nonce.bytea), \(expires.unixSeconds)) ON CONFLICT DO NOTHING RETURNING 1")
        return rows.count == 1
    }

    /// In short transactions of one address each (`deleteMessages`), the addresses of the
    /// oldest `sweepBatch` expired messages per round (read along the index on age, so a round
    /// is quick however many have expired) until none is left: a sweep after a long outage
    /// does not hold millions of rows in one transaction, nor pass the statement timeout.
    /// Instances that sweep at the same time only find less to do.
    public func sweep(messagesBefore: Date, now: Date) async throws -> SweepResult {
        let cutoff = messagesBefore.unixSeconds
        var messages = 0
        while true {
            let expired = try await database.query(
                "SELECT address_id FROM receiving_message WHERE received_at <= \(cutoff) ORDER BY received_at LIMIT \(Int64(Self.sweepBatch))"
            ).map { try $0.decode(ByteBuffer.self) }
            // Every expired message of an address goes with it: the next round starts further on.
            for address in Set(expired) {
                messages += try await deleteMessages(of: address, .receivedBy(cutoff))
            }
            if expired.count < Self.sweepBatch { break }
        }
        let current = now.unixSeconds
        let chunk = Int64(PostgresDatabase.deleteChunk)
        // A margin over the expiry: another instance's clock may be behind this one's.
        let nonces = try await database.deleteInChunks(
            """
            DELETE FROM receiving_nonce WHERE nonce IN (
                SELECT nonce FROM receiving_nonce WHERE expires_at < \(current - PostgresDatabase.nonceMargin) LIMIT \(chunk)
                FOR UPDATE SKIP LOCKED) RETURNING 1
            """)
        try await database.deleteInChunks(
            """
            DELETE FROM receiving_seen_envelope WHERE tag IN (
                SELECT tag FROM receiving_seen_envelope WHERE expires_at < \(current) LIMIT \(chunk) FOR UPDATE SKIP LOCKED) RETURNING 1
            """)
        return SweepResult(messages: messages, nonces: nonces)
    }

    static let sweepBatch = 5_000

    public func counts() async throws -> ReceivingStorageCounts {
        let rows = try await database.query(
            """
            SELECT (SELECT COUNT(*) FROM receiving_address) AS addresses,
                (SELECT COUNT(*) FROM receiving_address WHERE retired_at IS NOT NULL) AS retired,
                (SELECT COUNT(*) FROM receiving_message) AS messages,
                (SELECT COUNT(*) FROM receiving_nonce) AS nonces
            """
        )
        let (addresses, retired, messages, nonces) = try rows[0].decode((Int64, Int64, Int64, Int64).self)
        return ReceivingStorageCounts(addresses: Int(addresses), retiredAddresses: Int(retired), messages: Int(messages), nonces: Int(nonces))
    }

    /// One pass over the addresses, the messages from their counters (which every writer keeps
    /// in step with the messages in its transaction): counting the messages themselves would
    /// read the whole queue, which may be far larger, at every scrape.
    public func depths() async throws -> ReceivingStorageCounts {
        let rows = try await database.query(
            """
            SELECT COUNT(*), COUNT(*) FILTER (WHERE retired_at IS NOT NULL), COALESCE(SUM(message_count), 0)::bigint
            FROM receiving_address
            """
        )
        let (addresses, retired, messages) = try rows[0].decode((Int64, Int64, Int64).self)
        return ReceivingStorageCounts(addresses: Int(addresses), retiredAddresses: Int(retired), messages: Int(messages), nonces: 0)
    }

    /// Calls `delivered` with the address of every message stored by any instance, until
    /// cancelled; reconnects after a lost connection (a wake missed meanwhile only delays a
    /// long-poll to its deadline: the fetch reads the table, not the notification).
    public func deliveries(_ delivered: @escaping @Sendable (AddressID) async -> Void) async throws {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await self.listen(on: connection, delivered)
                }
            } catch {
                if Task.isCancelled { return }
                database.logger.warning("listening for deliveries failed; listening again", metadata: ["error": "\(PostgresDatabase.reason(error))"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Listens on `connection` until it fails or falls silent. A connection can die without
    /// closing (a firewall or NAT forgets it, the database's host hangs): its listener would
    /// wait for ever, and long-polls here would wake only at their deadlines. So every
    /// `listenerCheck` this instance notifies the channel through another connection, and when
    /// nothing at all has been heard on it for three checks (every instance's checks and
    /// deliveries count), the connection is closed and replaced.
    private func listen(on connection: PostgresConnection, _ delivered: @escaping @Sendable (AddressID) async -> Void) async throws {
        let watch = ListenerWatch()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await connection.listen(on: Self.notificationChannel) { notifications in
                    for try await notification in notifications {
                        watch.heard()
                        // A check's payload is no address.
                        if let address = try? AddressID(hex: notification.payload) { await delivered(address) }
                    }
                }
                throw ListenerLost()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: self.listenerCheck)
                    // Sent apart, one at a time: a check whose query hangs (on a pool connection
                    // that died as silently) must neither keep the silence from being noticed
                    // nor hold up this listener's end.
                    if watch.startCheck() {
                        Task {
                            _ = try? await self.database.query("SELECT pg_notify(\(Self.notificationChannel), 'check')")
                            watch.endCheck()
                        }
                    }
                    if watch.silence > self.listenerCheck * 3 {
                        // Closing fails whatever waits on the connection, a LISTEN in flight too.
                        try? await connection.close()
                        throw ListenerLost()
                    }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// When the listening connection last heard anything, and whether a check is on its way.
    private final class ListenerWatch: Sendable {
        private let state = Mutex((heard: ContinuousClock.now, checking: false))
        func heard() { state.withLock { $0.heard = .now } }
        var silence: Duration { ContinuousClock.now - state.withLock { $0.heard } }

        /// False while the previous check's query is still out.
        func startCheck() -> Bool {
            state.withLock { state in
                defer { state.checking = true }
                return !state.checking
            }
        }

        func endCheck() { state.withLock { $0.checking = false } }
    }

    private struct ListenerLost: Error, CustomStringConvertible {
        var description: String { "the listening connection ended or fell silent" }
    }

    public func isReady() async -> Bool { await database.answers() }

    public func close() async {
        database.close()
    }
}
