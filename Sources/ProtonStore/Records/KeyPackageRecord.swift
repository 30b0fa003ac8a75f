import Foundation
import GRDB

/// A key package we published at a brokered directory: its signed prekey and first-contact
/// address, with their secrets (sealed when a passphrase protects the profile). Unlike an
/// invite it starts many relationships, so it is never "used"; its secrets are deleted with the
/// row a week after it expires.
struct KeyPackageRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "key_packages"

    var id: String
    var personaID: String
    /// NAME@NAMESPACE it was published for.
    var name: String
    var signedPrekey: Data
    var signedPrekeySecret: Data
    var serviceURI: String
    var serviceKey: Data
    var address: String
    var authSeed: Data
    /// The package as published, one-time prekeys included.
    var package: Data
    var expires: Date
    var created: Date
    /// A hybrid package's last-resort ML-KEM seed (sealed); nil for a classical one.
    var kemSeed: Data?

    enum CodingKeys: String, CodingKey {
        case id
        case personaID = "persona_id"
        case name
        case signedPrekey = "signed_prekey"
        case signedPrekeySecret = "signed_prekey_secret"
        case serviceURI = "service_uri"
        case serviceKey = "service_key"
        case address
        case authSeed = "auth_seed"
        case package, expires, created
        case kemSeed = "kem_seed"
    }

    enum Columns {
        static let address = Column(CodingKeys.address)
        static let expires = Column(CodingKeys.expires)
        static let created = Column(CodingKeys.created)
    }
}

/// One one-time prekey of a published key package. Its secret is erased when an initial
/// message uses it, and the row stays so that a second use is told "already used".
struct OneTimePrekeyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "one_time_prekeys"

    var prekey: Data
    var keyPackageID: String
    var secret: Data?
    var used: Date?
    var protonID: String?
    /// In a hybrid package, the seed of the ML-KEM key that goes with this prekey (sealed);
    /// erased with `secret`.
    var kemSeed: Data?

    enum CodingKeys: String, CodingKey {
        case prekey
        case keyPackageID = "key_package_id"
        case secret, used
        case protonID = "proton_id"
        case kemSeed = "kem_seed"
    }

    enum Columns {
        static let keyPackageID = Column(CodingKeys.keyPackageID)
        static let used = Column(CodingKeys.used)
    }
}
