import Foundation
import GRDB

/// One message of the log. The plaintext body stays on the client; it is sealed when a
/// passphrase protects the profile.
struct MessageRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "messages"

    var id: Int64?
    var protonID: String
    /// "in" or "out".
    var direction: String
    var body: Data
    /// Incoming: the address of ours it arrived at. Outgoing: the peer's address it went to first.
    var address: String?
    var timestamp: Date
    /// The sender's message sequence, when known.
    var sequence: Int64?
    /// Received ahead of an earlier message of the same sender, and not shown yet.
    var held: Bool = false
    /// Where the log shows it; nil while held.
    var position: Int64?

    enum CodingKeys: String, CodingKey {
        case id
        case protonID = "proton_id"
        case direction, body, address, timestamp, sequence, held, position
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let protonID = Column(CodingKeys.protonID)
        static let held = Column(CodingKeys.held)
        static let position = Column(CodingKeys.position)
        static let sequence = Column(CodingKeys.sequence)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
