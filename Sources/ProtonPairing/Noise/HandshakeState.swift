import ProtonCrypto

/// Noise's HandshakeState (revision 34, section 5.3) running the XX pattern (section 7.5):
///
///     XX:
///       -> e
///       <- e, ee, s, es
///       -> s, se
///
/// DH is X25519 (section 12.1), the cipher XChaCha20-Poly1305 (see `CipherState`), the hash
/// SHA-256 (section 12.5). Static keys are the personas' Ed25519 identity keys mapped to X25519,
/// so the handshake authenticates exactly the identity the key packages then name.
struct HandshakeState: Sendable {
    enum Role: Sendable { case initiator, responder }

    /// Section 8 naming, with an application suffix so this handshake never matches another
    /// protocol's keys.
    static let protocolName = "Noise_XX_25519_XChaChaPoly_SHA256+ProtonPairing1"
    static let dhByteCount = X25519.keyByteCount

    private enum Token { case e, s, ee, es, se }
    private static let messagePatterns: [[Token]] = [[.e], [.e, .ee, .s, .es], [.s, .se]]

    let role: Role
    private var symmetric: SymmetricState
    private let staticKey: X25519.PrivateKey
    private var ephemeralKey: X25519.PrivateKey?
    private(set) var remoteStaticKey: X25519.PublicKey?
    private var remoteEphemeralKey: X25519.PublicKey?
    private var messageIndex = 0
    private let random: any RandomSource

    /// Section 5.3 Initialize: InitializeSymmetric, then MixHash(prologue). XX has no
    /// pre-messages.
    init(role: Role, prologue: [UInt8], staticKey: X25519.PrivateKey, random: some RandomSource) {
        self.role = role
        self.staticKey = staticKey
        self.random = random
        symmetric = SymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
    }

    var isComplete: Bool { messageIndex == Self.messagePatterns.count }

    /// Whether the next message is ours to write (the initiator writes the even ones).
    var isOurTurn: Bool { (messageIndex % 2 == 0) == (role == .initiator) }

    /// Section 5.3 WriteMessage.
    mutating func writeMessage(payload: [UInt8] = []) throws(PairingError) -> [UInt8] {
        precondition(!isComplete && isOurTurn, "Noise XX message written out of turn")
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
            }
        }
        buffer += try symmetric.encryptAndHash(payload)
        messageIndex += 1
        return buffer
    }

    /// Section 5.3 ReadMessage; returns the payload.
    mutating func readMessage(_ message: [UInt8]) throws(PairingError) -> [UInt8] {
        precondition(!isComplete && !isOurTurn, "Noise XX message read out of turn")
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
            }
        }
        let payload = try symmetric.decryptAndHash(Array(rest))
        messageIndex += 1
        return payload
    }

    /// The handshake hash `h` (section 11.2's channel binding) and the two transport
    /// CipherStates, ours to send with first. Only after the third message.
    func finish() -> (handshakeHash: [UInt8], sending: CipherState, receiving: CipherState) {
        precondition(isComplete, "the Noise XX handshake has not finished")
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
        guard let ours, let theirs else { preconditionFailure("Noise XX keys missing for \(token)") }
        do {
            symmetric.mixKey(try ours.sharedSecret(with: theirs))
        } catch {
            throw .malformed("the peer sent a low-order key")
        }
    }
}
