import Foundation
import GRDB

/// One skipped message key of one proton. `headerKey` and `messageKey` are secret.
struct SkippedKeyRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "skipped_keys"

    var id: Int64?
    var protonID: String
    var headerKey: Data
    var messageNumber: Int64
    var messageKey: Data
    var storedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case protonID = "proton_id"
        case headerKey = "header_key"
        case messageNumber = "message_number"
        case messageKey = "message_key"
        case storedAt = "stored_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let protonID = Column(CodingKeys.protonID)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
