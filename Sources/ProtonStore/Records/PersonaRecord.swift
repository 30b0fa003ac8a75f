import Foundation
import GRDB

/// A persona row. `identitySeed` is secret (sealed when a passphrase protects the profile).
struct PersonaRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "personas"

    var id: String
    var displayName: String
    var identityKey: Data
    var identitySeed: Data
    var created: Date

    enum CodingKeys: String, CodingKey {
        case id
        case displayName = "display_name"
        case identityKey = "identity_key"
        case identitySeed = "identity_seed"
        case created
    }

    enum Columns {
        static let displayName = Column(CodingKeys.displayName)
        static let created = Column(CodingKeys.created)
    }
}
