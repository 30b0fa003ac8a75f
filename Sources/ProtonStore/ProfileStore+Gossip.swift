import Foundation
import GRDB

/// Checkpoints that contacts gossiped (a `checkpoint` proton update), kept from the
/// transaction that recorded their message until the client has weighed them against the
/// directory logs it follows (`Profile.checkGossipedCheckpoints` in ProtonClient).
public struct GossipedCheckpoint: Sendable, Equatable {
    public let id: Int64
    public let protonID: ProtonID
    /// The signed note as the contact sent it (UTF-8, at most 4,096 bytes).
    public let note: [UInt8]
    public let received: Date
}

extension StoreTransaction {
    /// The most gossiped checkpoints waiting to be weighed from one relationship, and from all:
    /// past either the oldest go, so that a contact sending many cannot grow the profile, nor
    /// push out what other contacts gossiped.
    public static let maximumGossipedCheckpointsPerRelationship = 4
    public static let maximumGossipedCheckpoints = 256

    /// Keeps a checkpoint the contact gossiped, with the message that carried it.
    public func queueGossipedCheckpoint(_ note: [UInt8], from protonID: ProtonID, now: Date) throws {
        try db.execute(
            sql: "INSERT INTO gossiped_checkpoints (proton_id, note, received) VALUES (?, ?, ?)",
            arguments: [protonID.rawValue, Data(note), now])
        try db.execute(
            sql: """
                DELETE FROM gossiped_checkpoints WHERE proton_id = ? AND id NOT IN
                    (SELECT id FROM gossiped_checkpoints WHERE proton_id = ? ORDER BY id DESC LIMIT ?)
                """,
            arguments: [protonID.rawValue, protonID.rawValue, Self.maximumGossipedCheckpointsPerRelationship])
        try db.execute(
            sql: """
                DELETE FROM gossiped_checkpoints WHERE id NOT IN
                    (SELECT id FROM gossiped_checkpoints ORDER BY id DESC LIMIT ?)
                """,
            arguments: [Self.maximumGossipedCheckpoints])
    }
}

extension ProfileStore {
    /// The gossiped checkpoints waiting to be weighed, oldest first.
    public func gossipedCheckpoints() throws -> [GossipedCheckpoint] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, proton_id, note, received FROM gossiped_checkpoints ORDER BY id").map { row in
                let note: Data = row["note"]
                return GossipedCheckpoint(id: row["id"], protonID: ProtonID(rawValue: row["proton_id"]), note: Array(note), received: row["received"])
            }
        }
    }

    /// Forgets the gossiped checkpoints up to `id`, once weighed.
    public func removeGossipedCheckpoints(through id: Int64) throws {
        try transaction { tx in try tx.db.execute(sql: "DELETE FROM gossiped_checkpoints WHERE id <= ?", arguments: [id]) }
    }
}
