import ProtonCrypto

/// Noise's HandshakeState (revision 34, section 5.3) running the XX pattern (section 7.5) with
/// the hybrid forward secrecy extension (Noise HFS, section 4's KEM tokens) over ML-KEM-768:
///
///     XXhfs:
///       -> e, e1
///       <- e, ee, ekem1, s, es
///       -> s, se
///
/// `e1`: the initiator's fresh ML-KEM encapsulation key, EncryptAndHash'ed (in the clear in
/// message 1, where no key exists yet, but hashed into `h` all the same); `ekem1`: the
/// responder's encapsulation to it, EncryptAndHash'ed, then MixKey(shared secret). So the
/// transport keys and `h`, which the SAS and the relationship's X3DH both take, depend on an
/// ML-KEM secret as well as the DHs. DH is X25519 (section 12.1), the cipher
/// XChaCha20-Poly1305 (see `CipherState`), the hash SHA-256 (section 12.5). Static keys are the
/// personas' Ed25519 identity keys mapped to X25519, so the handshake authenticates exactly the
/// identity the key packages then name.
struct HandshakeState: Sendable {
    enum Role: Sendable { case initiator, responder }

    /// Section 8 naming, with an application suffix so this handshake never matches another
    /// protocol's keys.
    static let protocolName = "Noise_XXhfs_25519+MLKEM768_XChaChaPoly_SHA256+ProtonPairing2"
    static let dhByteCount = X25519.keyByteCount

    private enum Token { case e, s, ee, es, se, e1, ekem1 }
    private static let messagePatterns: [[Token]] = [[.e, .e1], [.e, .ee, .ekem1, .s, .es], [.s, .se]]

    let role: Role
    private var symmetric: SymmetricState
    private let staticKey: X25519.PrivateKey
    private var ephemeralKey: X25519.PrivateKey?
    private(set) var remoteStaticKey: X25519.PublicKey?
    private var remoteEphemeralKey: X25519.PublicKey?
    private var messageIndex = 0
    private let random: any RandomSource
    /// The initiator's ML-KEM key (e1) until the responder's ciphertext is read. (Internal, not
    /// private: the claim's test gives a recorder's copy the public half alone.)
    var kemKey: MLKEM.PrivateKey?
    /// The responder's copy of the initiator's e1.
    private var remoteKEMKey: MLKEM.PublicKey?
    /// Replay seam (the pairing fuzz targets): the responder's encapsulation to e1.
    private let encapsulation: (@Sendable (MLKEM.PublicKey) -> MLKEM.Encapsulation)?

    /// Section 5.3 Initialize: InitializeSymmetric, then MixHash(prologue). XX has no
    /// pre-messages.
    init(
        role: Role, prologue: [UInt8], staticKey: X25519.PrivateKey, random: some RandomSource,
        encapsulation: (@Sendable (MLKEM.PublicKey) -> MLKEM.Encapsulation)? = nil
    ) {
        self.role = role
        self.staticKey = staticKey
        self.random = random
        self.encapsulation = encapsulation
        symmetric = SymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
    }

    var isComplete: Bool { messageIndex == Self.messagePatterns.count }

    /// Whether the next message is ours to write (the initiator writes the even ones).
    var isOurTurn: Bool { (messageIndex % 2 == 0) == (role == .initiator) }

    /// Section 5.3 WriteMessage.
    mutating func writeMessage(payload: [UInt8] = []) throws(PairingError) -> [UInt8] {
        precondition(!isComplete && isOurTurn, "Noise XXhfs message written out of turn")
        var buffer: [UInt8] = []
        for token in Self.messagePatterns[messageIndex] {
            switch token {
            case .e:
                let ephemeral = X25519.PrivateKey(using: random)
                ephemeralKey = ephemeral
                buffer += ephemeral.publicKey.rawRepresentation
                symmetric.mixHash(ephemeral.publicKey.rawRepresentation)
            case .s:
                buffer += try symmetric.encryptAndHash(staticKey.publicKey.rawRepresentation)
            case .ee, .es, .se:
                try mixDiffieHellman(token)
            case .e1:
                let key = MLKEM.PrivateKey(using: random)
                kemKey = key
                buffer += try symmetric.encryptAndHash(key.publicKey.rawRepresentation)
            case .ekem1:
                guard let remoteKEMKey else { preconditionFailure("Noise XXhfs e1 missing for ekem1") }
                let sent = encapsulation?(remoteKEMKey) ?? remoteKEMKey.encapsulate()
                buffer += try symmetric.encryptAndHash(sent.ciphertext)
                symmetric.mixKey(sent.sharedSecret)
            }
        }
        buffer += try symmetric.encryptAndHash(payload)
        messageIndex += 1
        return buffer
    }

    /// Section 5.3 ReadMessage; returns the payload.
    mutating func readMessage(_ message: [UInt8]) throws(PairingError) -> [UInt8] {
        precondition(!isComplete && !isOurTurn, "Noise XXhfs message read out of turn")
        var rest = message[...]
        func take(_ count: Int) throws(PairingError) -> [UInt8] {
            guard rest.count >= count else { throw .malformed("handshake message too short") }
            defer { rest = rest.dropFirst(count) }
            return Array(rest.prefix(count))
        }
        for token in Self.messagePatterns[messageIndex] {
            switch token {
            case .e:
                let raw = try take(Self.dhByteCount)
                remoteEphemeralKey = try! X25519.PublicKey(rawRepresentation: raw)
                symmetric.mixHash(raw)
            case .s:
                let raw = try take(Self.dhByteCount + (symmetric.hasKey ? XChaCha20Poly1305.tagByteCount : 0))
                let key = try symmetric.decryptAndHash(raw)
                remoteStaticKey = try! X25519.PublicKey(rawRepresentation: key)
            case .ee, .es, .se:
                try mixDiffieHellman(token)
            case .e1:
                let raw = try symmetric.decryptAndHash(try take(MLKEM.publicKeyByteCount + (symmetric.hasKey ? XChaCha20Poly1305.tagByteCount : 0)))
                // FIPS 203 section 7.2's check, before the key is used.
                guard let key = try? MLKEM.PublicKey(rawRepresentation: raw) else {
                    throw .malformed("the peer's ML-KEM key is not an encapsulation key")
                }
                remoteKEMKey = key
            case .ekem1:
                guard let kemKey else { preconditionFailure("Noise XXhfs e1 missing for ekem1") }
                let ciphertext = try symmetric.decryptAndHash(try take(MLKEM.ciphertextByteCount + XChaCha20Poly1305.tagByteCount))
                // A ciphertext of the right length always decapsulates (implicit rejection): a
                // forged one gives another secret, and the next AEAD fails.
                guard let secret = try? kemKey.decapsulate(ciphertext) else { throw .authenticationFailed }
                symmetric.mixKey(secret)
                self.kemKey = nil
            }
        }
        let payload = try symmetric.decryptAndHash(Array(rest))
        messageIndex += 1
        return payload
    }

    /// The handshake hash `h` (section 11.2's channel binding) and the two transport
    /// CipherStates, ours to send with first. Only after the third message.
    func finish() -> (handshakeHash: [UInt8], sending: CipherState, receiving: CipherState) {
        precondition(isComplete, "the Noise XXhfs handshake has not finished")
        let (toResponder, toInitiator) = symmetric.split()
        return role == .initiator
            ? (symmetric.handshakeHash, toResponder, toInitiator) : (symmetric.handshakeHash, toInitiator, toResponder)
    }

    /// Section 5.3's DH tokens: "ee" is DH(e, re); "es" is DH(e, rs) for the initiator and
    /// DH(s, re) for the responder; "se" the mirror image. A low-order remote key (an all-zero
    /// result) is refused rather than mixed in.
    private mutating func mixDiffieHellman(_ token: Token) throws(PairingError) {
        let ours: X25519.PrivateKey?
        let theirs: X25519.PublicKey?
        switch (token, role) {
        case (.ee, _): (ours, theirs) = (ephemeralKey, remoteEphemeralKey)
        case (.es, .initiator), (.se, .responder): (ours, theirs) = (ephemeralKey, remoteStaticKey)
        case (.es, .responder), (.se, .initiator): (ours, theirs) = (staticKey, remoteEphemeralKey)
        default: preconditionFailure("not a DH token")
        }
        guard let ours, let theirs else { preconditionFailure("Noise XXhfs keys missing for \(token)") }
        do {
            symmetric.mixKey(try ours.sharedSecret(with: theirs))
        } catch {
            throw .malformed("the peer sent a low-order key")
        }
    }
}
