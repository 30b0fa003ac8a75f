import Foundation
import Hummingbird
import ProtonCore
import ProtonCrypto

/// The parts of a request a signature covers (`RequestSignature`, docs/api.md), plus its headers.
struct SignedRequest: Sendable {
    var method: String
    var pathAndQuery: String
    var body: [UInt8]
    var headers: HTTPFields

    init(method: String, pathAndQuery: String, body: [UInt8], headers: HTTPFields) {
        self.method = method
        self.pathAndQuery = pathAndQuery
        self.body = body
        self.headers = headers
    }

    /// The request as read by a handler, its body already collected.
    init(_ request: Request, body: [UInt8]) {
        self.init(method: request.method.rawValue, pathAndQuery: request.pathAndQuery, body: body, headers: request.headers)
    }

    func header(_ name: String) -> String? {
        let lowercased = name.lowercased()
        return headers.first { $0.name.canonicalName == lowercased }?.value
    }
}

/// The one check of request signatures for every service: the headers present and
/// well-formed, the timestamp within `RequestSignature.allowedSkew` of the service's clock, an
/// Ed25519 signature by the expected key over this exact request, and a nonce never seen
/// before (remembered by the service's own storage). Nothing is read or changed for a request
/// that fails here. The services differ only in their words and in where nonces are kept.
struct RequestVerifier: Sendable {
    /// What a service calls things in its refusals.
    struct Wording: Sendable {
        /// Whose clock a stale request is compared with ("service", "directory").
        var clock: String
        /// What the headers are ("The request signature", "The proof of possession").
        var signature: String
        /// Why a signature by the wrong key is refused.
        var wrongKey: String
    }

    let wording: Wording
    let now: @Sendable () -> Date
    /// Records the nonce until `expires`; false when it was seen before.
    let recordNonce: @Sendable (_ nonce: [UInt8], _ expires: Date) async throws -> Bool
    /// A header naming the key that signed: with it, a valid signature by another key than
    /// the expected one is told apart (403 `not_owner`) from a broken one (401).
    var claimedKeyHeader: String? = nil

    /// Verifies `request` against `key` (and, with `alsoSignedBy`, the same bytes signed by a
    /// second key, its signature in the named header), then consumes its nonce.
    func verify(_ request: SignedRequest, key: Ed25519.PublicKey, alsoSignedBy second: (header: String, key: Ed25519.PublicKey)? = nil)
        async throws
    {
        let signature = try freshSignature(of: request)
        guard Self.isValid(signature, request, key) else {
            if let claimedKeyHeader, let claimed = request.header(claimedKeyHeader),
                let bytes = try? Base64URL.decode(claimed, limit: Ed25519.publicKeyByteCount),
                let claimedKey = try? Ed25519.PublicKey(rawRepresentation: bytes), claimedKey != key,
                Self.isValid(signature, request, claimedKey)
            {
                throw ServiceError(.forbidden, code: "not_owner", "The request is signed by a key that does not own this address.")
            }
            throw ServiceError(.unauthorized, code: "bad_signature", wording.wrongKey)
        }
        if let second {
            guard let header = request.header(second.header),
                let bytes = try? Base64URL.decode(header, limit: Ed25519.signatureByteCount),
                Self.isValid(RequestSignature(timestamp: signature.timestamp, nonce: signature.nonce, signature: bytes), request, second.key)
            else {
                throw ServiceError(.unauthorized, code: "bad_signature", "The request is not also signed by the key in \(second.header).")
            }
        }
        // Remembered for twice the skew window past now: a replay is refused as stale after
        // `timestamp + allowedSkew`, which is always earlier.
        guard try await recordNonce(signature.nonce, now().addingTimeInterval(2 * RequestSignature.allowedSkew)) else {
            throw ServiceError(.unauthorized, code: "replayed_request", "This request was already made once; sign a new one.")
        }
    }

    /// The signature headers, present, well-formed and fresh.
    func freshSignature(of request: SignedRequest) throws -> RequestSignature {
        let signature: RequestSignature
        do {
            signature = try RequestSignature(
                timestampHeader: request.header(RequestSignature.timestampHeader),
                nonceHeader: request.header(RequestSignature.nonceHeader),
                signatureHeader: request.header(RequestSignature.signatureHeader))
        } catch {
            throw ServiceError(.unauthorized, code: "bad_signature", "\(wording.signature) is missing or malformed: \(error).")
        }
        let current = now()
        guard signature.isFresh(now: current) else { throw ServiceError.staleRequest(now: current, service: wording.clock) }
        return signature
    }

    private static func isValid(_ signature: RequestSignature, _ request: SignedRequest, _ key: Ed25519.PublicKey) -> Bool {
        signature.isValid(method: request.method, pathAndQuery: request.pathAndQuery, body: request.body, key: key)
    }
}
