import ProtonCrypto

/// One contextual identity of a person: an Ed25519 identity key and a display name.
public struct Persona: Sendable {
    public static let maximumNameByteCount = 64

    public var displayName: String
    public let identityKey: Ed25519.PrivateKey

    public init(displayName: String, identityKey: Ed25519.PrivateKey) throws(WireError) {
        try Persona.validate(displayName: displayName)
        self.displayName = displayName
        self.identityKey = identityKey
    }

    public init(displayName: String, random: some RandomSource) throws(WireError) {
        try self.init(displayName: displayName, identityKey: Ed25519.PrivateKey(using: random))
    }

    public var publicIdentity: Ed25519.PublicKey { identityKey.publicKey }

    static func validate(displayName: String) throws(WireError) {
        let count = displayName.utf8.count
        guard count > 0 else { throw .invalidValue(field: "display name", reason: "empty") }
        guard count <= maximumNameByteCount else {
            throw .oversized(field: "display name", limit: maximumNameByteCount, actual: count)
        }
        guard !displayName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidValue(field: "display name", reason: "contains control characters")
        }
    }
}
