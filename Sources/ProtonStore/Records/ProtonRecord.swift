import Foundation
import GRDB
import ProtonCrypto

/// A proton row: `state` is `Proton.serializedState()` (secret, sealed when a passphrase
/// protects the profile); the other columns let a listing find and name it without opening it.
/// `stateDigest` is a SHA-256 of the stored state bound to the row: without a passphrase
/// nothing else would notice bytes changed inside the state (a damaged disk, an editing
/// mistake), and a state that parses but is not the one written would ratchet on from the
/// wrong keys. NULL only in rows written before it existed, until their next update.
struct ProtonRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "protons"

    var id: String
    var personaID: String
    var peerIdentity: Data
    var peerDisplayName: String?
    var relationshipID: String
    var state: Data
    var stateDigest: Data?
    var created: Date
    var updated: Date

    enum CodingKeys: String, CodingKey {
        case id
        case personaID = "persona_id"
        case peerIdentity = "peer_identity"
        case peerDisplayName = "peer_display_name"
        case relationshipID = "relationship_id"
        case state, created, updated
        case stateDigest = "state_digest"
    }

    static func digest(id: String, state: Data) -> Data {
        Data(SHA256.hash(Array("Proton state digest v1\u{0}\(id)\u{0}".utf8) + Array(state)))
    }

    enum Columns {
        static let personaID = Column(CodingKeys.personaID)
        static let relationshipID = Column(CodingKeys.relationshipID)
        static let created = Column(CodingKeys.created)
    }
}
