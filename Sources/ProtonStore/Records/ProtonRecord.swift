import Foundation
import GRDB

/// A proton row: `state` is `Proton.serializedState()` (secret, sealed when a passphrase
/// protects the profile); the other columns let a listing find and name it without opening it.
struct ProtonRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "protons"

    var id: String
    var personaID: String
    var peerIdentity: Data
    var peerDisplayName: String?
    var relationshipID: String
    var state: Data
    var created: Date
    var updated: Date

    enum CodingKeys: String, CodingKey {
        case id
        case personaID = "persona_id"
        case peerIdentity = "peer_identity"
        case peerDisplayName = "peer_display_name"
        case relationshipID = "relationship_id"
        case state, created, updated
    }

    enum Columns {
        static let personaID = Column(CodingKeys.personaID)
        static let relationshipID = Column(CodingKeys.relationshipID)
        static let created = Column(CodingKeys.created)
    }
}
