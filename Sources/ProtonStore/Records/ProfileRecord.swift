import Foundation
import GRDB

/// The single row of profile metadata: when the profile was made, its format, and — when a
/// passphrase protects the secrets — the Argon2id salt and cost and a key check.
struct ProfileRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "profile"
    static let singletonID = 1

    var id: Int = ProfileRecord.singletonID
    var created: Date
    var formatVersion: Int
    var kdfSalt: Data?
    var kdfOperations: Int64?
    var kdfMemoryBytes: Int64?
    /// A known value sealed under the passphrase key: opening it proves the passphrase right.
    var keyCheck: Data?

    enum CodingKeys: String, CodingKey {
        case id, created
        case formatVersion = "format_version"
        case kdfSalt = "kdf_salt"
        case kdfOperations = "kdf_operations"
        case kdfMemoryBytes = "kdf_memory_bytes"
        case keyCheck = "key_check"
    }
}
