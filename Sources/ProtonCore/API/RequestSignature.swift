import Foundation
import ProtonCrypto

/// How an address's owner signs a request to a receiving service: an Ed25519 signature by the
/// address's auth key over the method, the path with its query, the SHA-256 of the body, a
/// timestamp and a random nonce. The service refuses stale timestamps and nonces it has seen.
public struct RequestSignature: Sendable, Equatable {
    public static let timestampHeader = "Proton-Timestamp"
    public static let nonceHeader = "Proton-Nonce"
    public static let signatureHeader = "Proton-Signature"
    /// Optional: the signer's public key, so that a service can tell a valid signature by
    /// another key (403 `not_owner`) from a broken one (docs/api.md).
    public static let keyHeader = "Proton-Key"
    /// On a `stale_request` refusal: the service's clock, in Unix seconds, so that a client
    /// whose clock is off can sign again with the service's time (`ServiceClock`).
    public static let serviceTimeHeader = "Proton-Service-Time"
    /// How far a timestamp may be from the service's clock.
    public static let allowedSkew: TimeInterval = 300
    public static let nonceByteCount = 16

    public let timestamp: Int64
    public let nonce: [UInt8]
    public let signature: [UInt8]

    /// The exact bytes signed.
    public static func signedBytes(method: String, pathAndQuery: String, body: [UInt8], timestamp: Int64, nonce: [UInt8]) -> [UInt8] {
        let lines = [
            "PROTON-REQUEST-V1", method.uppercased(), pathAndQuery, SHA256.hash(body).hexString, String(timestamp),
            nonce.hexString,
        ]
        return Array(lines.joined(separator: "\n").utf8)
    }

    public static func sign(
        method: String, pathAndQuery: String, body: [UInt8], key: Ed25519.PrivateKey, now: Date, random: some RandomSource
    ) -> RequestSignature {
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        let nonce = random.bytes(nonceByteCount)
        let signature = key.signature(
            for: signedBytes(method: method, pathAndQuery: pathAndQuery, body: body, timestamp: timestamp, nonce: nonce))
        return RequestSignature(timestamp: timestamp, nonce: nonce, signature: signature)
    }

    /// The same request signed by a second key with this signature's timestamp and nonce (a
    /// directory key change is signed by the old key and the new one).
    public func countersignature(by key: Ed25519.PrivateKey, method: String, pathAndQuery: String, body: [UInt8]) -> [UInt8] {
        key.signature(for: Self.signedBytes(method: method, pathAndQuery: pathAndQuery, body: body, timestamp: timestamp, nonce: nonce))
    }

    public init(timestamp: Int64, nonce: [UInt8], signature: [UInt8]) {
        self.timestamp = timestamp
        self.nonce = nonce
        self.signature = signature
    }

    /// Reads the three headers; nil values mean the header is missing.
    public init(timestampHeader: String?, nonceHeader: String?, signatureHeader: String?) throws(WireError) {
        guard let timestampHeader, let nonceHeader, let signatureHeader else {
            throw .invalidValue(field: "request signature", reason: "missing Proton-Timestamp, Proton-Nonce or Proton-Signature")
        }
        guard let timestamp = Int64(timestampHeader) else {
            throw .invalidValue(field: "Proton-Timestamp", reason: "not an integer")
        }
        let nonce = try Base64URL.decode(nonceHeader, limit: Self.nonceByteCount)
        guard nonce.count == Self.nonceByteCount else {
            throw .invalidValue(field: "Proton-Nonce", reason: "must be \(Self.nonceByteCount) bytes")
        }
        let signature = try Base64URL.decode(signatureHeader, limit: Ed25519.signatureByteCount)
        guard signature.count == Ed25519.signatureByteCount else {
            throw .invalidValue(field: "Proton-Signature", reason: "must be 64 bytes")
        }
        self.init(timestamp: timestamp, nonce: nonce, signature: signature)
    }

    public var headers: [(name: String, value: String)] {
        [
            (Self.timestampHeader, String(timestamp)), (Self.nonceHeader, Base64URL.encode(nonce)),
            (Self.signatureHeader, Base64URL.encode(signature)),
        ]
    }

    public func isValid(method: String, pathAndQuery: String, body: [UInt8], key: Ed25519.PublicKey) -> Bool {
        key.isValidSignature(
            signature, for: Self.signedBytes(method: method, pathAndQuery: pathAndQuery, body: body, timestamp: timestamp, nonce: nonce))
    }

    public func isFresh(now: Date) -> Bool {
        abs(now.timeIntervalSince1970 - TimeInterval(timestamp)) <= Self.allowedSkew
    }
}
