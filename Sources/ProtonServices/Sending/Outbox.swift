import Foundation
import ProtonCore
import ProtonCrypto

/// What the sending service does for each endpoint, apart from HTTP plumbing.
struct Outbox: Sendable {
    let storage: any SendingStorage
    let forwarder: Forwarder?
    let now: @Sendable () -> Date

    /// `POST /v1/send`: checks the request, commits it to the outbox, then tells the forwarder.
    func send(_ body: [UInt8]) async throws -> ServiceAPI.SendStatus {
        let send = try JSONBody.decode(ServiceAPI.Send.self, from: body, what: "Send")
        guard let target = TargetURI.parsed(send.receivingService) else {
            throw ServiceError(
                .badRequest, code: "bad_receiving_service",
                "The receiving service must be an http or https origin (scheme, host, optional port; no path, query or user info) of at most \(Route.maximumServiceURIByteCount) characters.")
        }
        let serviceKey = try JSONBody.bytes(send.serviceKey, field: "serviceKey", limit: 32, tooLong: Self.badServiceKey)
        guard serviceKey.count == 32 else { throw Self.badServiceKey }
        let sealed = try JSONBody.bytes(
            send.sealedAddress, field: "sealedAddress", limit: Envelope.sealedAddressByteCount, tooLong: Self.badSealedAddress)
        guard sealed.count == Envelope.sealedAddressByteCount else { throw Self.badSealedAddress }
        let ciphertext = try JSONBody.bytes(
            send.ciphertext, field: "ciphertext", limit: ServiceAPI.maximumCiphertextByteCount,
            tooLong: .badCiphertext("is larger than \(ServiceAPI.maximumCiphertextByteCount) bytes"))
        guard !ciphertext.isEmpty else { throw ServiceError.badCiphertext("is empty") }

        let entry = OutboxEntry(
            id: Base64URL.encode(SystemRandom().bytes(16)), receivingService: target.base, serviceKey: serviceKey,
            sealedAddress: sealed, ciphertext: ciphertext)
        try await storage.enqueue(entry, now: now())
        forwarder?.accepted(receivingService: entry.receivingService, serviceKey: serviceKey)
        return ServiceAPI.SendStatus(id: entry.id, state: .queued, attempts: 0)
    }

    /// `GET /v1/send/{id}`.
    func status(_ id: String) async throws -> ServiceAPI.SendStatus {
        guard id.utf8.count <= 64, let status = try await storage.status(id) else {
            throw ServiceError(.notFound, code: "unknown_send", "No message with this id was sent through this service.")
        }
        return status
    }

    /// The sending service cannot open the box; it checks only the length.
    static let badSealedAddress = ServiceError(
        .badRequest, code: "bad_sealed_address", "The sealed address must be \(Envelope.sealedAddressByteCount) bytes.")

    static let badServiceKey = ServiceError(
        .badRequest, code: "bad_service_key", "The service key must be the receiving service's 32-byte X25519 key, base64url.")
}
