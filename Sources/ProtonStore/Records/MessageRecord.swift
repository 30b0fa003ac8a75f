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

    enum CodingKeys: String, CodingKey {
        case id
        case protonID = "proton_id"
        case direction, body, address, timestamp
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let protonID = Column(CodingKeys.protonID)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
