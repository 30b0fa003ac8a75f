import Foundation
import ProtonCore
import ProtonCrypto

/// A directory statement about `name@namespace`, signed by the directory's key and logged as
/// one leaf of its transparency log (wire format 0x08, docs/wire-format.md):
///
/// - `attestation`: `identityKey` is the persona's key for the name;
/// - `keyChange`: `identityKey` replaces `previousKey` for the name;
/// - `revocation`: `identityKey` is no longer bound to the name.
///
/// The statement names its own log index, so a leaf cannot be presented as another position
/// of the log. The validity window is [issued, expires).
public struct Attestation: Sendable, Equatable {
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case attestation = 0x01
        case revocation = 0x02
        case keyChange = 0x03

        public var description: String {
            switch self {
            case .attestation: "attestation"
            case .revocation: "revocation"
            case .keyChange: "key change"
            }
        }
    }

    public static let maximumNamespaceByteCount = 253
    public static let maximumNameByteCount = 64
    public static let maximumByteCount = 2 + 1 + (1 + maximumNamespaceByteCount) + (1 + maximumNameByteCount) + 32 + 32 + 4 + 4 + 8 + 64

    public let kind: Kind
    public let namespace: String
    public let name: String
    public let identityKey: Ed25519.PublicKey
    /// The key a key change replaces; nil for the other kinds.
    public let previousKey: Ed25519.PublicKey?
    public let issued: Date
    public let expires: Date
    public let logIndex: UInt64
    public let signature: [UInt8]
    /// Every byte before the signature, kept so that verifying and hashing do not re-encode.
    private let signedPart: [UInt8]

    /// Signs a new statement with the directory's key. Times are truncated to whole seconds.
    public init(
        kind: Kind, namespace: String, name: String, identityKey: Ed25519.PublicKey, previousKey: Ed25519.PublicKey? = nil,
        issued: Date, expires: Date, logIndex: UInt64, signedBy key: DirectoryKey
    ) throws(WireError) {
        let issued = Date(timeIntervalSince1970: floor(issued.timeIntervalSince1970))
        let expires = Date(timeIntervalSince1970: floor(expires.timeIntervalSince1970))
        let signed = try Self.signedBytes(kind, namespace, name, identityKey, previousKey, issued, expires, logIndex)
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.identityKey = identityKey
        self.previousKey = previousKey
        self.issued = issued
        self.expires = expires
        self.logIndex = logIndex
        self.signature = key.signature(for: signed)
        self.signedPart = signed
    }

    /// `name@namespace`.
    public var qualifiedName: String { name + "@" + namespace }

    /// The leaf this statement is in the log: its whole encoding, signature included.
    public func encoded() -> [UInt8] {
        signedPart + signature
    }

    /// RFC 9162 leaf hash of `encoded()`.
    public var leafHash: [UInt8] { Merkle.leafHash(encoded()) }

    /// Parses the structure; the signature is checked by `verify`, which needs the pinned key.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .attestation, maximumSize: Self.maximumByteCount)
        let kindByte = try reader.byte("kind")
        guard let kind = Kind(rawValue: kindByte) else { throw .invalidValue(field: "kind", reason: "unknown kind \(kindByte)") }
        let namespace = try reader.shortString("namespace", limit: Self.maximumNamespaceByteCount)
        let name = try reader.shortString("name", limit: Self.maximumNameByteCount)
        let identityBytes = try reader.fixed(32, "identity key")
        let previousBytes = kind == .keyChange ? try reader.fixed(32, "previous key") : nil
        // 32 bytes always make an Ed25519.PublicKey (its only check is the length).
        let identityKey = try! Ed25519.PublicKey(rawRepresentation: identityBytes)
        let previousKey = previousBytes.map { try! Ed25519.PublicKey(rawRepresentation: $0) }
        let issued = Date(timeIntervalSince1970: TimeInterval(try reader.uint32("issued")))
        let expires = Date(timeIntervalSince1970: TimeInterval(try reader.uint32("expires")))
        let logIndex = try reader.uint64("log index")
        let signature = try reader.fixed(Ed25519.signatureByteCount, "signature")
        try reader.finish()
        // Validates the fields as the signer does; the result is the input's first bytes, as
        // every field has exactly one encoding.
        let signed = try Self.signedBytes(kind, namespace, name, identityKey, previousKey, issued, expires, logIndex)
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.identityKey = identityKey
        self.previousKey = previousKey
        self.issued = issued
        self.expires = expires
        self.logIndex = logIndex
        self.signature = signature
        self.signedPart = signed
    }

    /// Checks the directory's signature under the pinned key and that `now` is in
    /// [issued, expires). Says nothing about the log: `AttestationBundle.verify` adds that.
    public func verify(directory: NoteVerifier, now: Date) throws(AttestationError) {
        guard directory.publicKey.isValidSignature(signature, for: signedPart) else { throw .invalidSignature }
        guard now >= issued else { throw .notYetValid(issued: issued, now: now) }
        guard now < expires else { throw .expired(expires: expires, now: now) }
    }

    /// Everything before the signature, which the signature covers (tag and version included).
    /// Validates every field, so both the signer and the parser refuse the same statements.
    private static func signedBytes(
        _ kind: Kind, _ namespace: String, _ name: String, _ identityKey: Ed25519.PublicKey, _ previousKey: Ed25519.PublicKey?,
        _ issued: Date, _ expires: Date, _ logIndex: UInt64
    ) throws(WireError) -> [UInt8] {
        guard isValidNamespace(namespace) else {
            throw .invalidValue(field: "namespace", reason: "not a lowercase DNS name of at most 253 characters")
        }
        guard isValidName(name) else {
            throw .invalidValue(field: "name", reason: "not 1 to 64 characters of a-z, 0-9, '.', '_' or '-'")
        }
        guard (kind == .keyChange) == (previousKey != nil) else {
            throw .invalidValue(field: "previous key", reason: "a key change, and only a key change, names the previous key")
        }
        guard let issuedSeconds = UInt32(exactly: issued.timeIntervalSince1970),
            let expiresSeconds = UInt32(exactly: expires.timeIntervalSince1970)
        else { throw .invalidValue(field: "issued", reason: "times are whole seconds from 1970 to 2106") }
        guard expiresSeconds > issuedSeconds else { throw .invalidValue(field: "expires", reason: "not after issued") }
        var writer = WireWriter(format: .attestation, capacity: maximumByteCount)
        writer.byte(kind.rawValue)
        writer.short(Array(namespace.utf8))
        writer.short(Array(name.utf8))
        writer.fixed(identityKey.rawRepresentation)
        if let previousKey { writer.fixed(previousKey.rawRepresentation) }
        writer.uint32(issuedSeconds)
        writer.uint32(expiresSeconds)
        writer.uint64(logIndex)
        return writer.bytes
    }

    /// A DNS name in lowercase ASCII: labels of 1–63 characters of a-z, 0-9 and '-', not
    /// starting or ending with '-', joined by single dots. Lowercase only, so that one name
    /// has one encoding and no two statements differ by case.
    public static func isValidNamespace(_ namespace: String) -> Bool {
        let bytes = Array(namespace.utf8)
        guard (1...maximumNamespaceByteCount).contains(bytes.count) else { return false }
        return bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { isLowercaseAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// 1–64 characters of a-z, 0-9, '.', '_' and '-'.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...maximumNameByteCount).contains(bytes.count)
            && bytes.allSatisfy { isLowercaseAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLowercaseAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
