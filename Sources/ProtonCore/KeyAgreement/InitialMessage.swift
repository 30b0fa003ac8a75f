import ProtonCrypto

/// X3DH's initial message (section 3.3): which of the responder's prekeys were used, the
/// initiator's ephemeral key, the initiator's identity key — encrypted, as Noise's IK pattern
/// encrypts `s`, so the receiving service that holds this message cannot read who sent it —
/// and the first ratchet message.
public struct InitialMessage: Sendable, Equatable {
    public static var maximumByteCount: Int {
        2 + 1 + 32 + 32 + 32 + sealedIdentityByteCount + 4 + DoubleRatchet.maximumMessageByteCount
    }
    static let sealedIdentityByteCount = 32 + XChaCha20Poly1305.tagByteCount

    public let signedPrekey: X25519.PublicKey
    public let oneTimePrekey: X25519.PublicKey?
    public let ephemeralKey: X25519.PublicKey
    let sealedIdentity: [UInt8]
    public let ratchetMessage: [UInt8]

    init(
        initiator: Ed25519.PublicKey, ephemeral: X25519.PrivateKey, bundle: PrekeyBundle, ratchetMessage: [UInt8]
    ) throws {
        signedPrekey = bundle.signedPrekey
        oneTimePrekey = bundle.oneTimePrekey
        ephemeralKey = ephemeral.publicKey
        let key = try Self.identityKey(try ephemeral.sharedSecret(with: bundle.signedPrekey))
        sealedIdentity = try XChaCha20Poly1305.seal(
            initiator.rawRepresentation, using: key, nonce: Self.zeroNonce,
            authenticating: ephemeralKey.rawRepresentation + signedPrekey.rawRepresentation)
        self.ratchetMessage = ratchetMessage
    }

    /// Recovers the initiator's identity key with the responder's signed prekey.
    public func initiatorIdentity(using signedPrekey: X25519.PrivateKey) throws(RatchetError) -> Ed25519.PublicKey {
        do {
            let key = try Self.identityKey(try signedPrekey.sharedSecret(with: ephemeralKey))
            let raw = try XChaCha20Poly1305.open(
                sealedIdentity, using: key, nonce: Self.zeroNonce,
                authenticating: ephemeralKey.rawRepresentation + self.signedPrekey.rawRepresentation)
            return try Ed25519.PublicKey(rawRepresentation: raw)
        } catch {
            throw .authenticationFailure
        }
    }

    /// The ephemeral key is fresh for every message, so a derived key with a fixed nonce is used
    /// once only.
    private static func identityKey(_ dh: SecureBytes) throws -> XChaCha20Poly1305.Key {
        try XChaCha20Poly1305.Key(
            HKDF.deriveKey(inputKeyMaterial: dh, salt: [], info: Array("Proton initial identity".utf8), outputByteCount: 32))
    }

    private static let zeroNonce = [UInt8](repeating: 0, count: XChaCha20Poly1305.nonceByteCount)

    public func encoded() -> [UInt8] {
        var writer = WireWriter(format: .initialMessage, capacity: 200 + ratchetMessage.count)
        writer.byte(oneTimePrekey == nil ? 0 : 1)
        writer.fixed(signedPrekey.rawRepresentation)
        if let oneTimePrekey { writer.fixed(oneTimePrekey.rawRepresentation) }
        writer.fixed(ephemeralKey.rawRepresentation)
        writer.fixed(sealedIdentity)
        writer.long(ratchetMessage)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .initialMessage, maximumSize: Self.maximumByteCount)
        let flags = try reader.byte("flags")
        guard flags <= 1 else { throw .invalidValue(field: "flags", reason: "unknown flag bits") }
        let signedPrekeyBytes = try reader.fixed(32, "signed prekey")
        let oneTimePrekeyBytes = flags == 1 ? try reader.fixed(32, "one-time prekey") : nil
        let ephemeralKeyBytes = try reader.fixed(32, "ephemeral key")
        signedPrekey = try! X25519.PublicKey(rawRepresentation: signedPrekeyBytes)
        oneTimePrekey = oneTimePrekeyBytes.map { try! X25519.PublicKey(rawRepresentation: $0) }
        ephemeralKey = try! X25519.PublicKey(rawRepresentation: ephemeralKeyBytes)
        sealedIdentity = try reader.fixed(Self.sealedIdentityByteCount, "sealed identity")
        ratchetMessage = try reader.long("ratchet message", limit: DoubleRatchet.maximumMessageByteCount)
        try reader.finish()
    }
}
