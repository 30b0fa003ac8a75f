import ProtonCore

/// Why a pairing stopped. Every failure ends the pairing on this side with one of these and
/// returns nothing, so the caller has nothing to store or to clean up.
public enum PairingError: Error, Equatable, Sendable {
    /// The stream ended inside a frame.
    case truncated
    /// A frame declared a payload larger than the channel's limit (or we tried to send one).
    case oversized(limit: Int, actual: Int)
    /// A frame or its contents could not be parsed.
    case malformed(String)
    /// The peer sent nothing within the time allowed for one frame.
    case timeout
    /// The peer closed the stream between frames.
    case peerClosed
    /// The peer reported that it stopped the pairing (for a reason it keeps to itself).
    case peerAborted
    /// A well-formed frame arrived out of order: the peer does not follow the protocol.
    case unexpectedFrame(expected: PairingFrame.Kind, actual: UInt8)
    /// A handshake or channel ciphertext did not authenticate.
    case authenticationFailed
    /// The initiator's revealed nonce does not open its commitment.
    case commitmentMismatch
    /// The key package names an identity other than the one the handshake authenticated.
    case identityMismatch
    /// The person on this side said the two numbers differ.
    case rejectedByUser
    /// The person on the other side said the two numbers differ.
    case sasMismatch
    /// Building the relationship from the exchanged key material failed.
    case relationshipFailed(Proton.Error)
    /// A pairing needs at least one route of ours, or the peer could never reach us.
    case noRoutes
    /// The operating system refused a read or write (the errno value).
    case io(errno: Int32)
}

extension PairingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncated: "the connection ended in the middle of a message"
        case .oversized(let limit, let actual): "a message of \(actual) bytes is over the limit of \(limit)"
        case .malformed(let reason): "the other device sent a malformed message: \(reason)"
        case .timeout: "the other device stopped answering"
        case .peerClosed: "the other device closed the connection"
        case .peerAborted: "the other device stopped the pairing"
        case .unexpectedFrame(let expected, let actual): "expected a \(expected) message, got message type \(actual)"
        case .authenticationFailed: "a message did not authenticate: the connection was tampered with"
        case .commitmentMismatch: "the other device broke its commitment: possible interception"
        case .identityMismatch: "the other device's key package does not match its handshake identity"
        case .rejectedByUser: "the numbers were not confirmed"
        case .sasMismatch: "the other person did not confirm the numbers"
        case .relationshipFailed(let error): "the relationship could not be set up: \(error)"
        case .noRoutes: "pairing needs at least one route to hand to the other device"
        case .io(let code): "the connection failed (errno \(code))"
        }
    }
}
