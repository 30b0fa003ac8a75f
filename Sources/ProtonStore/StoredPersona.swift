import Foundation
import ProtonCrypto

/// A persona as listed: everything but its secret key (`ProfileStore.persona(_:)` loads that).
public struct StoredPersona: Sendable, Identifiable {
    public let id: PersonaID
    public let displayName: String
    public let identityKey: Ed25519.PublicKey
    public let created: Date
}
