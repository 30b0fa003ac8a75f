import Foundation
import GRDB
import ProtonCore
import ProtonCrypto

/// `ReceivingStorage` in `DIR/receiving.sqlite` (WAL). A write commits before the method
/// returns, so a 202 for a delivery means the ciphertext is on disk.
public final class SQLiteReceivingStorage: ReceivingStorage {
    public static let databaseFileName = "receiving.sqlite"

    private let pool: DatabasePool
    /// Concurrent deliveries share transactions (and fsyncs): see `GroupCommit`.
    private let deliveries: GroupCommit<PendingDelivery, DeliveryOutcome>

    public init(directory: URL) throws {
        let pool = try ServiceDatabase.open(
            directory: directory, fileName: Self.databaseFileName, label: "ProtonReceiving", migrator: ReceivingMigrations.migrator)
        self.pool = pool
        deliveries = GroupCommit { pending in try await pool.write { db in try Self.store(pending, in: db) } }
    }

    public func createAddress(_ address: AddressID, authKey: Ed25519.PublicKey, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO address (id, auth_key, created_at) VALUES (?, ?, ?)",
                arguments: [Data(address.bytes), Data(authKey.rawRepresentation), now.unixSeconds])
            return db.changesCount == 1
        }
    }

    public func address(_ address: AddressID) async throws -> AddressRecord? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT auth_key, retired_at FROM address WHERE id = ?", arguments: [Data(address.bytes)])
            else { return nil }
            let key: Data = row["auth_key"]
            let retiredAt: Int64? = row["retired_at"]
            return AddressRecord(address: address, authKey: try Ed25519.PublicKey(rawRepresentation: Array(key)), isRetired: retiredAt != nil)
        }
    }

    public func deliver(_ message: IncomingMessage, now: Date, limits: ReceivingServiceLimits) async throws -> DeliveryOutcome {
        try await deliveries.submit(PendingDelivery(message: message, now: now, limits: limits))
    }

    public func deliver(_ messages: [IncomingMessage], now: Date, limits: ReceivingServiceLimits) async throws -> [DeliveryOutcome] {
        try await deliveries.submit(messages.map { PendingDelivery(message: $0, now: now, limits: limits) })
    }

    /// A delivery waiting for the next group commit.
    private struct PendingDelivery: Sendable {
        var message: IncomingMessage
        var now: Date
        var limits: ReceivingServiceLimits
    }

    /// Stores each delivery in turn, in one transaction.
    private static func store(_ pending: [PendingDelivery], in db: Database) throws -> [DeliveryOutcome] {
        let insert = try db.cachedStatement(sql: "INSERT INTO message (address_id, ciphertext, size, received_at) VALUES (?, ?, ?, ?)")
        let count = try db.cachedStatement(
            sql: "UPDATE address SET message_count = message_count + 1, byte_count = byte_count + ? WHERE id = ?")
        let seen = try db.cachedStatement(sql: "SELECT 1 FROM seen_envelope WHERE tag = ?")
        let remember = try db.cachedStatement(sql: "INSERT INTO seen_envelope (tag, expires_at) VALUES (?, ?)")
        return try pending.map { delivery -> DeliveryOutcome in
            let id = Data(delivery.message.address.bytes)
            let ciphertext = delivery.message.ciphertext
            let limits = delivery.limits
            // Before the address is looked at: a replay learns nothing of its state.
            let tag = Data(delivery.message.replayTag)
            if try Bool.fetchOne(seen, arguments: [tag]) == true { return .replayed }
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT retired_at, message_count, byte_count FROM address WHERE id = ?"), arguments: [id])
            else { return .unknownAddress }
            let retiredAt: Int64? = row["retired_at"]
            guard retiredAt == nil else { return .retired }
            let messageCount: Int = row["message_count"]
            let bytes: Int = row["byte_count"]
            guard messageCount < limits.maximumMessagesPerAddress else { return .overMessageQuota }
            guard bytes + ciphertext.count <= limits.maximumBytesPerAddress else { return .overByteQuota }
            try insert.execute(arguments: [id, Data(ciphertext), ciphertext.count, delivery.now.unixSeconds])
            let messageID = db.lastInsertedRowID
            try count.execute(arguments: [ciphertext.count, id])
            try remember.execute(arguments: [tag, delivery.now.addingTimeInterval(limits.messageLifetime).unixSeconds])
            return .stored(id: messageID)
        }
    }

    public func messages(for address: AddressID, after: Int64, receivedAfter notBefore: Date, limit: Int) async throws
        -> [ServiceAPI.StoredMessage]
    {
        try await pool.read { db in
            // Each ciphertext is encoded straight from the statement's column, not copied into a
            // row, then data, then an array first.
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, ciphertext, received_at FROM message
                    WHERE address_id = ? AND id > ? AND received_at > ? ORDER BY id LIMIT ?
                    """,
                arguments: [Data(address.bytes), after, notBefore.unixSeconds, limit])
            var messages: [ServiceAPI.StoredMessage] = []
            while let row = try rows.next() {
                let ciphertext = try row.withUnsafeData(atIndex: 1) { data in (data ?? Data()).withUnsafeBytes { Base64URL.encode($0) } }
                messages.append(ServiceAPI.StoredMessage(id: row[0], ciphertext: ciphertext, receivedAt: row[2]))
            }
            return messages
        }
    }

    public func acknowledge(_ address: AddressID, upTo: Int64) async throws -> Int {
        let id = Data(address.bytes)
        return try await pool.write { db in
            try Self.deleteMessages(db, address: id, .acknowledged(upTo: upTo))
        }
    }

    public func retire(_ address: AddressID, now: Date) async throws {
        let id = Data(address.bytes)
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM message WHERE address_id = ?", arguments: [id])
            try db.execute(
                sql: "UPDATE address SET retired_at = COALESCE(retired_at, ?), message_count = 0, byte_count = 0 WHERE id = ?",
                arguments: [now.unixSeconds, id])
        }
    }

    public func recordNonce(_ nonce: [UInt8], expires: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO seen_nonce (nonce, expires_at) VALUES (?, ?)",
                arguments: [Data(nonce), expires.unixSeconds])
            return db.changesCount == 1
        }
    }

    public func sweep(messagesBefore: Date, now: Date) async throws -> SweepResult {
        try await pool.write { db in
            let cutoff = messagesBefore.unixSeconds
            let addresses = try Data.fetchAll(db, sql: "SELECT DISTINCT address_id FROM message WHERE received_at <= ?", arguments: [cutoff])
            var messages = 0
            for address in addresses {
                messages += try Self.deleteMessages(db, address: address, .receivedBy(cutoff))
            }
            try db.execute(sql: "DELETE FROM seen_nonce WHERE expires_at < ?", arguments: [now.unixSeconds])
            let nonces = db.changesCount
            try db.execute(sql: "DELETE FROM seen_envelope WHERE expires_at < ?", arguments: [now.unixSeconds])
            return SweepResult(messages: messages, nonces: nonces)
        }
    }

    public func counts() async throws -> ReceivingStorageCounts {
        try await pool.read { db in
            ReceivingStorageCounts(
                addresses: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM address") ?? 0,
                retiredAddresses: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM address WHERE retired_at IS NOT NULL") ?? 0,
                messages: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message") ?? 0,
                nonces: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM seen_nonce") ?? 0)
        }
    }

    public func close() async {
        ServiceDatabase.close(pool)
    }

    /// Which of one address's messages a deletion takes.
    private enum Selection {
        case acknowledged(upTo: Int64)
        case receivedBy(Int64)

        var totalsSQL: String {
            switch self {
            case .acknowledged:
                "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM message WHERE address_id = ? AND id <= ?"
            case .receivedBy:
                "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM message WHERE address_id = ? AND received_at <= ?"
            }
        }

        var deleteSQL: String {
            switch self {
            case .acknowledged: "DELETE FROM message WHERE address_id = ? AND id <= ?"
            case .receivedBy: "DELETE FROM message WHERE address_id = ? AND received_at <= ?"
            }
        }

        var bound: Int64 {
            switch self {
            case .acknowledged(let upTo): upTo
            case .receivedBy(let cutoff): cutoff
            }
        }
    }

    /// Deletes one address's selected messages and keeps its quota counters in step.
    private static func deleteMessages(_ db: Database, address: Data, _ selection: Selection) throws -> Int {
        let totals = try Row.fetchOne(db, sql: selection.totalsSQL, arguments: [address, selection.bound])
        let count: Int = totals?["n"] ?? 0
        guard count > 0 else { return 0 }
        let bytes: Int = totals?["bytes"] ?? 0
        try db.execute(sql: selection.deleteSQL, arguments: [address, selection.bound])
        try db.execute(
            sql: "UPDATE address SET message_count = message_count - ?, byte_count = byte_count - ? WHERE id = ?",
            arguments: [count, bytes, address])
        return count
    }
}

extension Date {
    var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}
