import ProtonCrypto

/// What both sides derive from the key-agreement secret SK before the ratchet starts: the first
/// root key and the two shared header keys (Signal spec, section 4.2: SK, shared_hka,
/// shared_nhkb).
public struct RatchetSeed: Sendable {
    let rootKey: RootKey
    /// The initiator's first sending header key (shared_hka).
    let initiatorHeaderKey: HeaderKey
    /// The responder's first next-header key (shared_nhkb).
    let responderNextHeaderKey: HeaderKey

    private static let info = Array("Proton ratchet seed".utf8)

    public init(sharedSecret: SecureBytes) throws {
        let derived = try HKDF.deriveKey(inputKeyMaterial: sharedSecret, salt: [], info: Self.info, outputByteCount: 96)
        let parts = derived.split([32, 32, 32])
        rootKey = RootKey(secret: parts[0])
        initiatorHeaderKey = try HeaderKey(parts[1])
        responderNextHeaderKey = try HeaderKey(parts[2])
    }
}
