import Foundation
import ProtonCore
import ProtonCrypto

/// What the sending service does for each endpoint, apart from HTTP plumbing.
struct Outbox: Sendable {
    let storage: any SendingStorage
    let forwarder: Forwarder?
    let now: @Sendable () -> Date

    /// `POST /v1/send`: checks the request, commits it to the outbox, then wakes the forwarder.
    func send(_ body: [UInt8]) async throws -> ServiceAPI.SendStatus {
        let send = try JSONBody.decode(ServiceAPI.Send.self, from: body, what: "Send")
        guard Self.isAcceptableServiceURI(send.receivingService) else {
            throw ServiceError(
                .badRequest, code: "bad_receiving_service",
                "The receiving service must be an http or https URI of at most \(Route.maximumServiceURIByteCount) characters.")
        }
        let sealed = try JSONBody.bytes(
            send.sealedAddress, field: "sealedAddress", limit: Envelope.sealedAddressByteCount, tooLong: Self.badSealedAddress)
        guard sealed.count == Envelope.sealedAddressByteCount else { throw Self.badSealedAddress }
        let ciphertext = try JSONBody.bytes(
            send.ciphertext, field: "ciphertext", limit: ServiceAPI.maximumCiphertextByteCount,
            tooLong: .badCiphertext("is larger than \(ServiceAPI.maximumCiphertextByteCount) bytes"))
        guard !ciphertext.isEmpty else { throw ServiceError.badCiphertext("is empty") }

        let entry = OutboxEntry(
            id: Base64URL.encode(SystemRandom().bytes(16)), receivingService: send.receivingService, sealedAddress: sealed,
            ciphertext: ciphertext)
        try await storage.enqueue(entry, now: now())
        forwarder?.wake()
        return ServiceAPI.SendStatus(id: entry.id, state: .queued, attempts: 0)
    }

    /// `GET /v1/send/{id}`.
    func status(_ id: String) async throws -> ServiceAPI.SendStatus {
        guard id.utf8.count <= 64, let status = try await storage.status(id) else {
            throw ServiceError(.notFound, code: "unknown_send", "No message with this id was sent through this service.")
        }
        return status
    }

    static func isAcceptableServiceURI(_ text: String) -> Bool {
        guard text.utf8.count <= Route.maximumServiceURIByteCount,
            text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }),
            let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
        else { return false }
        return true
    }

    /// The sending service cannot open the box; it checks only the length.
    static let badSealedAddress = ServiceError(
        .badRequest, code: "bad_sealed_address", "The sealed address must be \(Envelope.sealedAddressByteCount) bytes.")
}
