import Foundation
import ProtonCrypto

/// What a QR code carries to start a relationship: the inviter's identity key, a one-time
/// prekey (which is also the inviter's first ratchet key), one route, and an expiry, signed by
/// the identity key.
public struct Invite: Sendable, Equatable {
    public static let maximumByteCount = 2 + 32 + 32 + 4 + (1 + Route.maximumServiceURIByteCount + 32 + 16) + 64

    public let identityKey: Ed25519.PublicKey
    public let prekey: X25519.PublicKey
    public let expires: Date
    public let route: Route
    public let signature: [UInt8]

    /// Signs a new invite.
    public init(identity: Ed25519.PrivateKey, prekey: X25519.PublicKey, route: Route, expires: Date) {
        self.identityKey = identity.publicKey
        self.prekey = prekey
        self.expires = Date(timeIntervalSince1970: floor(expires.timeIntervalSince1970))
        self.route = route
        self.signature = identity.signature(for: Self.signedBytes(identityKey, prekey, self.expires, route))
    }

    public var bundle: PrekeyBundle { PrekeyBundle(identityKey: identityKey, signedPrekey: prekey, oneTimePrekey: nil) }

    public func isExpired(now: Date) -> Bool { now >= expires }

    public func encoded() -> [UInt8] {
        Self.signedBytes(identityKey, prekey, expires, route) + signature
    }

    /// Parses and verifies the signature; a tampered invite fails here.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .invite, maximumSize: Self.maximumByteCount)
        let identityBytes = try reader.fixed(32, "identity key")
        let prekeyBytes = try reader.fixed(32, "prekey")
        let identity = try! Ed25519.PublicKey(rawRepresentation: identityBytes)
        let prekey = try! X25519.PublicKey(rawRepresentation: prekeyBytes)
        let expires = Date(timeIntervalSince1970: TimeInterval(try reader.uint32("expiry")))
        let route = try Route.decode(from: &reader)
        let signature = try reader.fixed(Ed25519.signatureByteCount, "signature")
        try reader.finish()
        guard identity.isValidSignature(signature, for: Self.signedBytes(identity, prekey, expires, route)) else {
            throw .invalidValue(field: "signature", reason: "does not verify: the invite was altered or forged")
        }
        self.identityKey = identity
        self.prekey = prekey
        self.expires = expires
        self.route = route
        self.signature = signature
    }

    /// The Base45 text a QR code holds (RFC 9285), alphanumeric mode.
    public var qrText: String { Base45.encode(encoded()) }

    public init(qrText: String) throws(WireError) {
        let trimmed = qrText.trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes: [UInt8]
        do { bytes = try Base45.decode(trimmed, limit: Self.maximumByteCount * 3 / 2 + 2) } catch {
            throw .invalidValue(field: "invite text", reason: "not Base45 (\(error))")
        }
        try self.init(decoding: bytes)
    }

    private static func signedBytes(_ identity: Ed25519.PublicKey, _ prekey: X25519.PublicKey, _ expires: Date, _ route: Route) -> [UInt8] {
        var writer = WireWriter(format: .invite, capacity: 200)
        writer.fixed(identity.rawRepresentation)
        writer.fixed(prekey.rawRepresentation)
        writer.uint32(UInt32(clamping: Int64(expires.timeIntervalSince1970)))
        route.encode(into: &writer)
        return writer.bytes
    }
}
