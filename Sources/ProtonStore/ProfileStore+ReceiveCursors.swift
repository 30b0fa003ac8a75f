import Foundation
import GRDB

/// How far the receive agent has got at one of our addresses: the last message id recorded
/// in the profile and the last id acknowledged to the service. The recorded id is written in
/// the same transaction as what the message changed (`transaction(advancing:)`), so a crash
/// can never leave a message recorded with the cursor behind it, or the cursor past a
/// message that was not recorded.
public struct ReceiveCursor: Sendable, Equatable {
    public var recorded: Int64
    public var acknowledged: Int64

    public init(recorded: Int64 = 0, acknowledged: Int64 = 0) {
        self.recorded = recorded
        self.acknowledged = acknowledged
    }
}

/// A message's place at an address: the cursor moves to it once the message is processed.
public struct ReceivePosition: Sendable, Equatable {
    /// The address, in hex.
    public let address: String
    public let messageID: Int64

    public init(address: String, messageID: Int64) {
        self.address = address
        self.messageID = messageID
    }
}

extension ProfileStore {
    /// Every address's cursor, keyed by the address in hex.
    public func receiveCursors() throws -> [String: ReceiveCursor] {
        try read { db in
            var cursors: [String: ReceiveCursor] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT address, recorded, acknowledged FROM receive_cursors") {
                cursors[row["address"]] = ReceiveCursor(recorded: row["recorded"], acknowledged: row["acknowledged"])
            }
            return cursors
        }
    }

    /// Runs `body` in one transaction that also moves the cursor to `position`: both commit,
    /// or neither does.
    public func transaction<T>(advancing position: ReceivePosition, _ body: (StoreTransaction) throws -> T) throws -> T {
        try transaction { tx in
            let value = try body(tx)
            try tx.advanceReceiveCursor(to: position)
            return value
        }
    }

    /// Moves the cursor to `position` unless it is there already (a message whose outcome
    /// changed nothing, such as a refusal, is still passed over).
    public func advanceReceiveCursor(to position: ReceivePosition) throws {
        let current = try read { db in
            try Int64.fetchOne(db, sql: "SELECT recorded FROM receive_cursors WHERE address = ?", arguments: [position.address])
        }
        guard (current ?? 0) < position.messageID else { return }
        try transaction { try $0.advanceReceiveCursor(to: position) }
    }

    /// Records that the service was told everything up to `messageID` at `address` was received.
    public func acknowledgeReceived(address: String, upTo messageID: Int64) throws {
        try transaction { tx in
            try tx.db.execute(
                sql: """
                    INSERT INTO receive_cursors (address, recorded, acknowledged) VALUES (?, 0, ?)
                    ON CONFLICT(address) DO UPDATE SET acknowledged = max(acknowledged, excluded.acknowledged)
                    """, arguments: [address, messageID])
        }
    }

    /// Forgets the cursors of addresses no longer polled (retired, or an invite's that is gone).
    public func forgetReceiveCursors(except kept: Set<String>) throws {
        let stale = try receiveCursors().keys.filter { !kept.contains($0) }
        guard !stale.isEmpty else { return }
        try transaction { tx in
            for address in stale { try tx.db.execute(sql: "DELETE FROM receive_cursors WHERE address = ?", arguments: [address]) }
        }
    }

    /// Takes in cursors kept elsewhere by an earlier version (`receive-state.json`), keeping
    /// the further of the two for each address.
    public func importReceiveCursors(_ cursors: [String: ReceiveCursor]) throws {
        guard !cursors.isEmpty else { return }
        try transaction { tx in
            for (address, cursor) in cursors {
                try tx.db.execute(
                    sql: """
                        INSERT INTO receive_cursors (address, recorded, acknowledged) VALUES (?, ?, ?)
                        ON CONFLICT(address) DO UPDATE SET recorded = max(recorded, excluded.recorded),
                            acknowledged = max(acknowledged, excluded.acknowledged)
                        """, arguments: [address, cursor.recorded, cursor.acknowledged])
            }
        }
    }
}

extension StoreTransaction {
    /// Moves the cursor at `position.address` forward to `position.messageID` (never back).
    public func advanceReceiveCursor(to position: ReceivePosition) throws {
        try db.execute(
            sql: """
                INSERT INTO receive_cursors (address, recorded, acknowledged) VALUES (?, ?, 0)
                ON CONFLICT(address) DO UPDATE SET recorded = max(recorded, excluded.recorded)
                """, arguments: [position.address, position.messageID])
    }
}
