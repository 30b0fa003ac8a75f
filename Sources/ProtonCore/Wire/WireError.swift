/// Why a byte string was refused. Every parser in ProtonCore throws these, and refuses before
/// any state is touched.
public enum WireError: Error, Equatable, Sendable {
    /// The input ended inside `field`.
    case truncated(field: String)
    /// Bytes were left after the last field.
    case trailingBytes(count: Int)
    /// `field` declares or has more bytes (or items) than its limit allows.
    case oversized(field: String, limit: Int, actual: Int)
    /// The format tag is known but this version is not.
    case unknownVersion(format: WireFormat, version: UInt8)
    /// The first byte names a different format (or none).
    case unexpectedFormat(expected: WireFormat, actual: UInt8)
    /// A field is well-formed in length but its value is not acceptable.
    case invalidValue(field: String, reason: String)
}

extension WireError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncated(let field): "input ends inside \(field)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the last field"
        case .oversized(let field, let limit, let actual): "\(field) is \(actual), over the limit of \(limit)"
        case .unknownVersion(let format, let version): "\(format) version \(version) is not supported"
        case .unexpectedFormat(let expected, let actual): "expected \(expected), found format tag \(actual)"
        case .invalidValue(let field, let reason): "\(field) is invalid: \(reason)"
        }
    }
}

/// The tag byte that opens each top-level format (docs/wire-format.md).
public enum WireFormat: UInt8, Sendable, CustomStringConvertible {
    case invite = 0x01
    case keyPackage = 0x02
    case ratchetMessage = 0x03
    case protonPayload = 0x04
    case envelope = 0x05
    case sealedAddress = 0x06
    case initialMessage = 0x07
    /// ProtonDirectory: a directory statement (attestation, revocation or key change).
    case attestation = 0x08
    /// ProtonDirectory: an attestation with its inclusion proof and signed checkpoint.
    case attestationBundle = 0x09
    /// Signed only, never sent alone: a hybrid key package's one-time prekey and its ML-KEM key.
    case oneTimeKEMPrekey = 0x0a

    /// The only version each format has so far.
    public static let currentVersion: UInt8 = 1

    public var description: String {
        switch self {
        case .invite: "invite"
        case .keyPackage: "key package"
        case .ratchetMessage: "ratchet message"
        case .protonPayload: "proton payload"
        case .envelope: "envelope"
        case .sealedAddress: "sealed address"
        case .initialMessage: "initial message"
        case .attestation: "attestation"
        case .attestationBundle: "attestation bundle"
        case .oneTimeKEMPrekey: "one-time KEM prekey"
        }
    }
}
