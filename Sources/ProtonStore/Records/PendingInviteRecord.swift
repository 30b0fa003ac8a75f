import Foundation
import GRDB

/// An invite we printed and nobody has used yet (or that was used: `used` is set and the
/// secrets are erased, so a second initial message can be told "already used").
/// `prekeySecret` and `authSeed` are secret (sealed when a passphrase protects the profile).
struct PendingInviteRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "pending_invites"

    var id: String
    var personaID: String
    var prekey: Data
    var prekeySecret: Data?
    var serviceURI: String
    var serviceKey: Data
    var address: String
    var authSeed: Data?
    var invite: Data
    var expires: Date
    var created: Date
    var used: Date?
    var protonID: String?

    enum CodingKeys: String, CodingKey {
        case id
        case personaID = "persona_id"
        case prekey
        case prekeySecret = "prekey_secret"
        case serviceURI = "service_uri"
        case serviceKey = "service_key"
        case address
        case authSeed = "auth_seed"
        case invite, expires, created, used
        case protonID = "proton_id"
    }

    enum Columns {
        static let prekey = Column(CodingKeys.prekey)
        static let address = Column(CodingKeys.address)
        static let expires = Column(CodingKeys.expires)
        static let created = Column(CodingKeys.created)
        static let used = Column(CodingKeys.used)
    }
}

/// An invite we accepted, by its prekey (unique per invite), so the same invite is not
/// accepted twice.
struct AcceptedInviteRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "accepted_invites"

    var prekey: Data
    var protonID: String?
    var accepted: Date

    enum CodingKeys: String, CodingKey {
        case prekey
        case protonID = "proton_id"
        case accepted
    }
}

/// An address registered at one of our receiving services ahead of need, so that an offline
/// exchange can hand it out. `authSeed` is secret.
struct SpareAddressRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "spare_addresses"

    var id: Int64?
    var serviceURI: String
    var serviceKey: Data
    var address: String
    var authSeed: Data
    var created: Date

    enum CodingKeys: String, CodingKey {
        case id
        case serviceURI = "service_uri"
        case serviceKey = "service_key"
        case address
        case authSeed = "auth_seed"
        case created
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let serviceURI = Column(CodingKeys.serviceURI)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
