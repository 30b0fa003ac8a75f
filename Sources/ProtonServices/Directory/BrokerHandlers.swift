import Foundation
import Hummingbird
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// The brokered directory's routes (docs/api.md, "Brokered directory"). Every request is
/// signed; the owner's by the key its name is attested to, the requester's by its own key.
struct BrokerHandlers: Sendable {
    let directory: DirectoryHandlers
    let broker: DirectoryBroker

    /// A key package with 100 one-time prekeys and a route is under 4 KiB; base64url and JSON
    /// add a third.
    static let maximumBodyByteCount = 8_192
    /// A publication holds a key package in base64url: a hybrid one with 100 one-time prekeys
    /// is 129,569 bytes, 172,759 characters.
    static let maximumPublishBodyByteCount = 180_000

    struct Empty: Codable {}

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/broker/names/:name/key-package") { request, context in
            let name = try self.name(context)
            let (body, signed) = try await directory.read(request, as: BrokerAPI.Publish.self, limit: Self.maximumPublishBodyByteCount)
            let tooLong = ServiceError(.badRequest, code: "bad_key_package", "The key package is too large.")
            let bytes = try JSONBody.bytes(body.keyPackage, field: "keyPackage", limit: KeyPackage.maximumByteCount, tooLong: tooLong)
            let package: KeyPackage
            do { package = try KeyPackage(decoding: bytes) } catch {
                throw ServiceError(.badRequest, code: "bad_key_package", "The key package is refused: \(error).")
            }
            guard body.trustedDirectories.count <= 16 else {
                throw ServiceError(.badRequest, code: "too_many_directories", "At most 16 trusted directories.")
            }
            try await directory.verifyPossession(signed, key: package.identityKey)
            let count = try await refusing { try await broker.publish(name: name, package: package, rule: body.rule, trusted: body.trustedDirectories, now: directory.now()) }
            return try JSONResponse.make(BrokerAPI.Published(name: name, oneTimePrekeys: count, rule: body.rule), status: .created)
        }
        router.post("/v1/broker/names/:name/fetch") { request, context in
            let name = try self.name(context)
            let (body, signed) = try await directory.read(request, as: BrokerAPI.Fetch.self, limit: Self.maximumBodyByteCount)
            let requester = try directory.identityKey(body.requesterKey, field: "requesterKey")
            var attestation: AttestationBundle?
            if let text = body.attestation {
                let tooLong = ServiceError(.badRequest, code: "bad_attestation", "The attestation bundle is too large.")
                let bytes = try JSONBody.bytes(text, field: "attestation", limit: AttestationBundle.maximumByteCount, tooLong: tooLong)
                do { attestation = try AttestationBundle(decoding: bytes) } catch {
                    throw ServiceError(.badRequest, code: "bad_attestation", "The attestation bundle does not parse: \(error).")
                }
            }
            try await directory.verifyPossession(signed, key: requester)
            do {
                let result = try await refusing { try await broker.fetch(name: name, requester: requester, attestation: attestation, now: directory.now()) }
                return try JSONResponse.make(
                    BrokerAPI.FetchResult(keyPackage: Base64URL.encode(result.package.encoded()), oneTimePrekeyIncluded: result.oneTimePrekeyIncluded),
                    status: .ok)
            } catch DirectoryBroker.Refusal.pendingApproval(let id) {
                return try JSONResponse.make(BrokerAPI.FetchResult(keyPackage: nil, oneTimePrekeyIncluded: false, requestID: id), status: .accepted)
            }
        }
        router.post("/v1/broker/names/:name/requests") { request, context in
            let name = try self.name(context)
            let (_, signed) = try await directory.read(request, as: Empty.self, limit: 64)
            let owner = try await ownerKey(name)
            try await directory.verifyPossession(signed, key: owner)
            return try JSONResponse.make(BrokerAPI.ContactRequests(requests: try await refusing { try await broker.requests(name: name, owner: owner) }), status: .ok)
        }
        for (verb, approve) in [("approve", true), ("deny", false)] {
            router.post("/v1/broker/names/:name/requests/:id/\(verb)") { request, context in
                let name = try self.name(context)
                let id = context.parameters.get("id") ?? ""
                guard id.utf8.count <= 32 else { throw ServiceError(.badRequest, code: "bad_request_id", "The request id is too long.") }
                let (_, signed) = try await directory.read(request, as: Empty.self, limit: 64)
                let owner = try await ownerKey(name)
                try await directory.verifyPossession(signed, key: owner)
                try await refusing { try await broker.decide(name: name, owner: owner, requestID: id, approve: approve) }
                return Response(status: .noContent)
            }
        }
    }

    private func name(_ context: BasicRequestContext) throws -> String {
        let name = context.parameters.get("name") ?? ""
        guard DirectoryNames.isValidName(name) else { throw directory.refusal(.invalidName(String(name.prefix(80)))) }
        return name
    }

    /// The key the name is attested to now: only it may act as the owner.
    private func ownerKey(_ name: String) async throws -> Ed25519.PublicKey {
        guard let binding = try await directory.registry.binding(name), !binding.revoked else { throw directory.refusal(.notRegistered(name)) }
        return binding.identityKey
    }

    private func refusing<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as DirectoryBroker.Refusal {
            switch refusal {
            case .pendingApproval: throw refusal
            case .notAttested(let name):
                throw ServiceError(.forbidden, code: "not_attested", "The name \(name) is not attested here; register it first.")
            case .wrongKey(let name):
                throw ServiceError(.forbidden, code: "not_owner", "The key package is not for the key \(name) is attested to.")
            case .expiredPackage: throw ServiceError(.badRequest, code: "expired_key_package", "The key package has expired.")
            case .noPackage(let name): throw ServiceError(.notFound, code: "no_key_package", "There is no key package for \(name).")
            case .notAllowedToContact(let name):
                throw ServiceError(.forbidden, code: "contact_refused", "The contact rules of \(name) do not let this key contact it.")
            case .rateLimited(let seconds):
                throw ServiceError(.tooManyRequests, code: "rate_limited", "Too many key-package requests from this key; try again in \(seconds) s.")
            case .tooManyPendingRequests(let name):
                throw ServiceError(.tooManyRequests, code: "too_many_requests", "\(name) has too many pending contact requests.")
            case .unknownRequest: throw ServiceError(.notFound, code: "unknown_request", "There is no such contact request for this name.")
            case .invalidTrustedDirectory:
                throw ServiceError(.badRequest, code: "bad_trusted_directory", "A trusted directory is not a C2SP verifier key.")
            }
        }
    }
}
