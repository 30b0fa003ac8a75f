import Foundation
import Hummingbird
import ProtonCore
import ProtonCrypto

/// Checks that a request about an address comes from its owner: an Ed25519 signature by the
/// address's auth key (`RequestSignature`) over this exact request, fresh, and never seen
/// before. Nothing is read or changed for a request that fails here.
struct OwnerAuthenticator: Sendable {
    /// Optional header naming the key that signed. With it, a valid signature by some other key
    /// is told apart (403 `not_owner`) from a broken one (401 `bad_signature`).
    static let keyHeader = "Proton-Key"

    let storage: any ReceivingStorage
    let now: @Sendable () -> Date

    /// The parts of a request a signature covers, plus its headers.
    struct SignedRequest: Sendable {
        var method: String
        var pathAndQuery: String
        var body: [UInt8]
        var headers: HTTPFields

        func header(_ name: String) -> String? {
            let lowercased = name.lowercased()
            return headers.first { $0.name.canonicalName == lowercased }?.value
        }
    }

    /// Verifies `request` against `key` and consumes its nonce.
    func verify(_ request: SignedRequest, key: Ed25519.PublicKey) async throws {
        let signature = try signature(of: request)
        guard signature.isValid(method: request.method, pathAndQuery: request.pathAndQuery, body: request.body, key: key) else {
            if let claimed = request.header(Self.keyHeader),
                let bytes = try? Base64URL.decode(claimed, limit: Ed25519.publicKeyByteCount),
                let claimedKey = try? Ed25519.PublicKey(rawRepresentation: bytes), claimedKey != key,
                signature.isValid(method: request.method, pathAndQuery: request.pathAndQuery, body: request.body, key: claimedKey)
            {
                throw ServiceError(.forbidden, code: "not_owner", "The request is signed by a key that does not own this address.")
            }
            throw ServiceError(.unauthorized, code: "bad_signature", "The request signature does not verify with the address's key.")
        }
        try await consumeNonce(signature)
    }

    /// The signature headers, present, well-formed and fresh.
    func signature(of request: SignedRequest) throws -> RequestSignature {
        let signature: RequestSignature
        do {
            signature = try RequestSignature(
                timestampHeader: request.header(RequestSignature.timestampHeader),
                nonceHeader: request.header(RequestSignature.nonceHeader),
                signatureHeader: request.header(RequestSignature.signatureHeader))
        } catch {
            throw ServiceError(.unauthorized, code: "bad_signature", "The request signature is missing or malformed: \(error).")
        }
        let current = now()
        guard signature.isFresh(now: current) else { throw ServiceError.staleRequest(now: current, service: "service") }
        return signature
    }

    /// Remembered for twice the skew window past now: a replay is refused as stale after
    /// `timestamp + allowedSkew`, which is always earlier.
    private func consumeNonce(_ signature: RequestSignature) async throws {
        let expires = now().addingTimeInterval(2 * RequestSignature.allowedSkew)
        guard try await storage.recordNonce(signature.nonce, expires: expires) else {
            throw ServiceError(.unauthorized, code: "replayed_request", "This request was already made once; sign a new one.")
        }
    }
}
