import Foundation
import ProtonCrypto

/// What a QR code carries to start a relationship: the inviter's identity key, a one-time
/// prekey (which is also the inviter's first ratchet key), one route, an expiry and optionally
/// an attestation of the inviter's name (opaque here; a directory's signed bundle), signed by
/// the identity key.
public struct Invite: Sendable, Equatable {
    /// The attestation a directory issues is far smaller; this bounds what a parser accepts.
    public static let maximumAttestationByteCount = 4_096
    /// Without an attestation (version 1).
    public static let maximumByteCount = 2 + 32 + 32 + 4 + (1 + Route.maximumServiceURIByteCount + 32 + 16) + 64
    /// With one (version 2).
    public static let maximumAttestedByteCount = maximumByteCount + 2 + maximumAttestationByteCount
    /// The header version of an invite that carries an attestation; one without keeps
    /// version 1, byte for byte as before, so that older readers still read it.
    public static let attestedVersion: UInt8 = 2

    public let identityKey: Ed25519.PublicKey
    public let prekey: X25519.PublicKey
    public let expires: Date
    public let route: Route
    /// Opaque to the invite; covered by its signature. Nil in an invite without one, which
    /// encodes exactly as invites did before attestations existed.
    public let attestation: [UInt8]?
    public let signature: [UInt8]

    /// Signs a new invite. `attestation` must be at most `maximumAttestationByteCount` bytes.
    public init(identity: Ed25519.PrivateKey, prekey: X25519.PublicKey, route: Route, expires: Date, attestation: [UInt8]? = nil) {
        precondition((attestation?.count ?? 0) <= Self.maximumAttestationByteCount, "an invite's attestation is at most 4096 bytes")
        self.identityKey = identity.publicKey
        self.prekey = prekey
        self.expires = Date(timeIntervalSince1970: floor(expires.timeIntervalSince1970))
        self.route = route
        self.attestation = attestation
        self.signature = identity.signature(for: Self.signedBytes(identityKey, prekey, self.expires, route, attestation))
    }

    public var bundle: PrekeyBundle { PrekeyBundle(identityKey: identityKey, signedPrekey: prekey, oneTimePrekey: nil) }

    public func isExpired(now: Date) -> Bool { now >= expires }

    public func encoded() -> [UInt8] {
        Self.signedBytes(identityKey, prekey, expires, route, attestation) + signature
    }

    /// Parses and verifies the signature; a tampered invite fails here.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        let attested = bytes.count >= 2 && bytes[1] == Self.attestedVersion
        var reader = try WireReader(
            bytes, format: .invite, maximumSize: attested ? Self.maximumAttestedByteCount : Self.maximumByteCount, versions: 1...Self.attestedVersion)
        let identityBytes = try reader.fixed(32, "identity key")
        let prekeyBytes = try reader.fixed(32, "prekey")
        let identity = try! Ed25519.PublicKey(rawRepresentation: identityBytes)
        let prekey = try! X25519.PublicKey(rawRepresentation: prekeyBytes)
        let expires = Date(timeIntervalSince1970: TimeInterval(try reader.uint32("expiry")))
        let route = try Route.decode(from: &reader)
        let attestation =
            reader.version == Self.attestedVersion ? try reader.medium("attestation", limit: Self.maximumAttestationByteCount) : nil
        let signature = try reader.fixed(Ed25519.signatureByteCount, "signature")
        try reader.finish()
        guard identity.isValidSignature(signature, for: Self.signedBytes(identity, prekey, expires, route, attestation)) else {
            throw .invalidValue(field: "signature", reason: "does not verify: the invite was altered or forged")
        }
        self.identityKey = identity
        self.prekey = prekey
        self.expires = expires
        self.route = route
        self.attestation = attestation
        self.signature = signature
    }

    /// The Base45 text a QR code holds (RFC 9285), alphanumeric mode.
    public var qrText: String { Base45.encode(encoded()) }

    public init(qrText: String) throws(WireError) {
        let trimmed = qrText.trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes: [UInt8]
        do { bytes = try Base45.decode(trimmed, limit: Self.maximumAttestedByteCount * 3 / 2 + 2) } catch {
            throw .invalidValue(field: "invite text", reason: "not Base45 (\(error))")
        }
        try self.init(decoding: bytes)
    }

    private static func signedBytes(
        _ identity: Ed25519.PublicKey, _ prekey: X25519.PublicKey, _ expires: Date, _ route: Route, _ attestation: [UInt8]?
    ) -> [UInt8] {
        var writer = WireWriter(
            format: .invite, version: attestation == nil ? WireFormat.currentVersion : attestedVersion,
            capacity: 200 + (attestation.map { 2 + $0.count } ?? 0))
        writer.fixed(identity.rawRepresentation)
        writer.fixed(prekey.rawRepresentation)
        writer.uint32(UInt32(clamping: Int64(expires.timeIntervalSince1970)))
        route.encode(into: &writer)
        if let attestation { writer.medium(attestation) }
        return writer.bytes
    }
}
