import Foundation
import ProtonCrypto

/// What the profile says about itself.
public struct ProfileInfo: Sendable {
    public let created: Date
    public let formatVersion: Int
    /// The Argon2id cost of the passphrase key, or nil when no passphrase protects the secrets.
    public let passphraseCost: Argon2id.Cost?

    public var isPassphraseProtected: Bool { passphraseCost != nil }
}
