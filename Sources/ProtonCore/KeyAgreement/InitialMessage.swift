import ProtonCrypto

/// X3DH's initial message (section 3.3): which of the responder's prekeys were used, the
/// initiator's ephemeral key, the initiator's identity key — encrypted, as Noise's IK pattern
/// encrypts `s`, so the receiving service that holds this message cannot read who sent it —
/// and the first ratchet message.
///
/// Version 2 (PQXDH revision 3, section 3.3) also names the responder's ML-KEM key it
/// encapsulated to (by its SHA-256) and carries the ciphertext; the KEM secret then keys the
/// sealed identity too, so that whoever breaks X25519 later learns neither the relationship's
/// keys nor who started it.
public struct InitialMessage: Sendable, Equatable {
    public static let classicalVersion: UInt8 = 1
    public static let hybridVersion: UInt8 = 2
    /// The same for both versions, so that no service's limit moves: a hybrid start's first
    /// ratchet message has the KEM part's 1,120 bytes less room (`maximumHybridRatchetMessageByteCount`).
    public static var maximumByteCount: Int {
        2 + 1 + 32 + 32 + 32 + sealedIdentityByteCount + 4 + DoubleRatchet.maximumMessageByteCount
    }
    public static var maximumHybridRatchetMessageByteCount: Int { DoubleRatchet.maximumMessageByteCount - 32 - MLKEM.ciphertextByteCount }
    static let sealedIdentityByteCount = 32 + XChaCha20Poly1305.tagByteCount

    /// The KEM part of a hybrid start: which of the responder's ML-KEM keys (SHA-256 of its
    /// encoding) and the ciphertext.
    public struct KEMPart: Sendable, Equatable {
        public let keyID: [UInt8]
        public let ciphertext: [UInt8]

        public static func keyID(of key: MLKEM.PublicKey) -> [UInt8] { SHA256.hash(key.rawRepresentation) }
    }

    public let signedPrekey: X25519.PublicKey
    public let oneTimePrekey: X25519.PublicKey?
    public let ephemeralKey: X25519.PublicKey
    /// Nil in a classical start (version 1).
    public let kem: KEMPart?
    let sealedIdentity: [UInt8]
    public let ratchetMessage: [UInt8]

    init(
        initiator: Ed25519.PublicKey, ephemeral: X25519.PrivateKey, bundle: PrekeyBundle,
        kem: (key: MLKEM.PublicKey, encapsulation: MLKEM.Encapsulation)?, ratchetMessage: [UInt8]
    ) throws {
        signedPrekey = bundle.signedPrekey
        oneTimePrekey = bundle.oneTimePrekey
        ephemeralKey = ephemeral.publicKey
        self.kem = kem.map { KEMPart(keyID: KEMPart.keyID(of: $0.key), ciphertext: $0.encapsulation.ciphertext) }
        let key = try Self.identityKey(try ephemeral.sharedSecret(with: bundle.signedPrekey), kemSecret: kem?.encapsulation.sharedSecret)
        sealedIdentity = try XChaCha20Poly1305.seal(
            initiator.rawRepresentation, using: key, nonce: Self.zeroNonce,
            authenticating: Self.identityAssociatedData(ephemeralKey, signedPrekey, self.kem))
        self.ratchetMessage = ratchetMessage
    }

    /// Recovers the initiator's identity key with the responder's signed prekey (and, in a
    /// hybrid start, the secret decapsulated from `kem`).
    public func initiatorIdentity(using signedPrekey: X25519.PrivateKey, kemSecret: SecureBytes? = nil) throws(RatchetError)
        -> Ed25519.PublicKey
    {
        do {
            let key = try Self.identityKey(try signedPrekey.sharedSecret(with: ephemeralKey), kemSecret: kemSecret)
            let raw = try XChaCha20Poly1305.open(
                sealedIdentity, using: key, nonce: Self.zeroNonce, authenticating: Self.identityAssociatedData(ephemeralKey, self.signedPrekey, kem))
            return try Ed25519.PublicKey(rawRepresentation: raw)
        } catch {
            throw .authenticationFailure
        }
    }

    /// EK ‖ SPK, and in a hybrid start the KEM key id ‖ ciphertext: a changed KEM field fails
    /// here, before any state exists.
    private static func identityAssociatedData(_ ephemeralKey: X25519.PublicKey, _ signedPrekey: X25519.PublicKey, _ kem: KEMPart?) -> [UInt8] {
        ephemeralKey.rawRepresentation + signedPrekey.rawRepresentation + (kem.map { $0.keyID + $0.ciphertext } ?? [])
    }

    /// The ephemeral key is fresh for every message, so a derived key with a fixed nonce is used
    /// once only.
    private static func identityKey(_ dh: SecureBytes, kemSecret: SecureBytes?) throws -> XChaCha20Poly1305.Key {
        guard let kemSecret else {
            return try XChaCha20Poly1305.Key(
                HKDF.deriveKey(inputKeyMaterial: dh, salt: [], info: Array("Proton initial identity".utf8), outputByteCount: 32))
        }
        return try XChaCha20Poly1305.Key(
            HKDF.deriveKey(
                inputKeyMaterial: SecureBytes(prefix: [], concatenating: [dh, kemSecret]), salt: [],
                info: Array("Proton initial identity ML-KEM-768".utf8), outputByteCount: 32))
    }

    private static let zeroNonce = [UInt8](repeating: 0, count: XChaCha20Poly1305.nonceByteCount)

    public func encoded() -> [UInt8] {
        var writer = WireWriter(
            format: .initialMessage, version: kem == nil ? Self.classicalVersion : Self.hybridVersion,
            capacity: 200 + (kem == nil ? 0 : 32 + MLKEM.ciphertextByteCount) + ratchetMessage.count)
        writer.byte(oneTimePrekey == nil ? 0 : 1)
        writer.fixed(signedPrekey.rawRepresentation)
        if let oneTimePrekey { writer.fixed(oneTimePrekey.rawRepresentation) }
        writer.fixed(ephemeralKey.rawRepresentation)
        if let kem {
            writer.fixed(kem.keyID)
            writer.fixed(kem.ciphertext)
        }
        writer.fixed(sealedIdentity)
        writer.long(ratchetMessage)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(
            bytes, format: .initialMessage, maximumSize: Self.maximumByteCount, versions: Self.classicalVersion...Self.hybridVersion)
        let hybrid = bytes[1] == Self.hybridVersion
        let flags = try reader.byte("flags")
        guard flags <= 1 else { throw .invalidValue(field: "flags", reason: "unknown flag bits") }
        let signedPrekeyBytes = try reader.fixed(32, "signed prekey")
        let oneTimePrekeyBytes = flags == 1 ? try reader.fixed(32, "one-time prekey") : nil
        let ephemeralKeyBytes = try reader.fixed(32, "ephemeral key")
        signedPrekey = try! X25519.PublicKey(rawRepresentation: signedPrekeyBytes)
        oneTimePrekey = oneTimePrekeyBytes.map { try! X25519.PublicKey(rawRepresentation: $0) }
        ephemeralKey = try! X25519.PublicKey(rawRepresentation: ephemeralKeyBytes)
        kem = hybrid
            ? KEMPart(keyID: try reader.fixed(32, "KEM key id"), ciphertext: try reader.fixed(MLKEM.ciphertextByteCount, "KEM ciphertext"))
            : nil
        sealedIdentity = try reader.fixed(Self.sealedIdentityByteCount, "sealed identity")
        ratchetMessage = try reader.long(
            "ratchet message", limit: hybrid ? Self.maximumHybridRatchetMessageByteCount : DoubleRatchet.maximumMessageByteCount)
        try reader.finish()
    }
}
