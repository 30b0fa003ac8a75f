/// One unit on the pairing stream: a 1-byte kind, a 2-byte big-endian payload length, then the
/// payload. Framing lets a reader refuse an oversized frame from its header alone, before
/// reading (or allocating for) its payload.
public struct PairingFrame: Sendable, Equatable {
    public static let headerByteCount = 3
    /// The default per-frame payload limit: far above the largest legitimate frame (a key
    /// package with one prekey, an attestation and an initial message), far below memory trouble.
    public static let defaultMaximumPayloadByteCount = 16 * 1024

    /// The frames of the protocol, in the order they are sent (docs/pairing.md).
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        /// Initiator → responder, clear: the commitment to the initiator's SAS nonce.
        case commitment = 0x01
        /// The three Noise XXhfs handshake messages.
        case handshake1 = 0x02
        case handshake2 = 0x03
        case handshake3 = 0x04
        /// Encrypted from here on. Responder → initiator: the responder's SAS nonce.
        case responderNonce = 0x10
        /// Initiator → responder: the initiator's SAS nonce, opening the commitment.
        case initiatorNonce = 0x11
        /// Both ways: whether the person confirmed the SAS.
        case confirmation = 0x12
        /// Responder → initiator: key package and optional attestation.
        case responderKeys = 0x13
        /// Initiator → responder: key package, optional attestation and the X3DH initial message.
        case initiatorKeys = 0x14
        /// Responder → initiator: the responder's first ratchet message (name and routes).
        case responderFinish = 0x15
        /// Initiator → responder: the initiator opened it; both sides now hold a proton.
        case initiatorFinish = 0x16
        /// Either way, clear: the sender stopped. Unauthenticated, so it can only end a pairing
        /// early, which anyone on the stream could do by dropping it anyway.
        case abort = 0x7f

        public var description: String {
            switch self {
            case .commitment: "commitment"
            case .handshake1: "handshake 1"
            case .handshake2: "handshake 2"
            case .handshake3: "handshake 3"
            case .responderNonce: "responder nonce"
            case .initiatorNonce: "initiator nonce"
            case .confirmation: "confirmation"
            case .responderKeys: "responder keys"
            case .initiatorKeys: "initiator keys"
            case .responderFinish: "responder finish"
            case .initiatorFinish: "initiator finish"
            case .abort: "abort"
            }
        }
    }

    /// The raw kind byte: a reader keeps unknown values so the error can name them.
    public let kindByte: UInt8
    public let payload: [UInt8]

    public init(_ kind: Kind, payload: [UInt8]) {
        self.kindByte = kind.rawValue
        self.payload = payload
    }

    package init(kindByte: UInt8, payload: [UInt8]) {
        self.kindByte = kindByte
        self.payload = payload
    }

    public var kind: Kind? { Kind(rawValue: kindByte) }

    /// Header and payload, ready for the stream.
    public func encoded() -> [UInt8] {
        precondition(payload.count <= Int(UInt16.max), "a frame payload must fit its 2-byte length")
        return [kindByte, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)] + payload
    }

    /// The payload length a header declares.
    static func declaredLength(header: [UInt8]) -> Int {
        Int(header[1]) << 8 | Int(header[2])
    }
}
