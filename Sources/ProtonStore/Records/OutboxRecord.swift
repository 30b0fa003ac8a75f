import Foundation
import GRDB

/// A ciphertext waiting for the send agent, with the peer's routes to try in order (JSON,
/// sealed when a passphrase protects the profile: they are the capability to deliver).
struct OutboxRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "outbox"

    var id: Int64?
    var protonID: String
    var messageID: Int64?
    var ciphertext: Data
    var routes: Data
    var created: Date
    var attempts: Int
    var lastAttempt: Date?

    enum CodingKeys: String, CodingKey {
        case id
        case protonID = "proton_id"
        case messageID = "message_id"
        case ciphertext, routes, created, attempts
        case lastAttempt = "last_attempt"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let protonID = Column(CodingKeys.protonID)
        static let attempts = Column(CodingKeys.attempts)
        static let lastAttempt = Column(CodingKeys.lastAttempt)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
