import Foundation
import Hummingbird
import Logging
import ProtonCore
import ProtonCrypto

/// What the receiving service does for each endpoint, apart from HTTP plumbing: the routes in
/// `ReceivingService` decode a request into these calls and encode what they return.
struct ReceivingOperations: Sendable {
    let storage: any ReceivingStorage
    let serviceKey: SealedBox.PrivateKey
    let limits: ReceivingServiceLimits
    let notifier: DeliveryNotifier
    let now: @Sendable () -> Date
    let logger: Logger
    var onLongPollWaiting: (@Sendable (AddressID) -> Void)? = nil

    /// Requests about an address must be signed by its auth key (docs/api.md); a `Proton-Key`
    /// header naming the key that signed tells a wrong owner (403) from a broken signature.
    var verifier: RequestVerifier {
        RequestVerifier(
            wording: .init(clock: "service", signature: "The request signature", wrongKey: "The request signature does not verify with the address's key."),
            now: now, recordNonce: { [storage] nonce, expires in try await storage.recordNonce(nonce, expires: expires) },
            claimedKeyHeader: RequestSignature.keyHeader)
    }

    func info() -> ServiceAPI.ServiceInfo {
        ServiceAPI.ServiceInfo(
            publicKey: Base64URL.encode(serviceKey.publicKey.rawRepresentation),
            messageLifetimeSeconds: Int(limits.messageLifetime), maximumMessagesPerAddress: limits.maximumMessagesPerAddress,
            maximumBytesPerAddress: limits.maximumBytesPerAddress)
    }

    /// `POST /v1/addresses`, signed by the key being registered: the owner proves it holds it.
    func createAddress(_ request: SignedRequest) async throws {
        let body = try JSONBody.decode(ServiceAPI.CreateAddress.self, from: request.body, what: "CreateAddress")
        let addressBytes = try JSONBody.bytes(body.address, field: "address", limit: AddressID.byteCount, tooLong: Self.badAddress)
        guard let address = try? AddressID(bytes: addressBytes) else { throw Self.badAddress }
        let keyBytes = try JSONBody.bytes(body.authKey, field: "authKey", limit: Ed25519.publicKeyByteCount, tooLong: Self.badAuthKey)
        guard let authKey = try? Ed25519.PublicKey(rawRepresentation: keyBytes) else { throw Self.badAuthKey }
        try await verifier.verify(request, key: authKey)
        guard try await storage.createAddress(address, authKey: authKey, now: now()) else {
            throw ServiceError(.conflict, code: "address_exists", "An address with this id exists (or existed); choose another.")
        }
    }

    /// `POST /v1/deliver`: answers only once the ciphertext is committed; true if it was
    /// stored now, false for a replay of an envelope stored before (nothing changed).
    func deliver(_ body: [UInt8]) async throws -> Bool {
        let delivery = try JSONBody.decode(ServiceAPI.Delivery.self, from: body, what: "Delivery")
        let message = try open(delivery)
        let outcome = try await storage.deliver(message, now: now(), limits: limits)
        if let refusal = refusal(for: outcome) { throw refusal }
        guard case .stored = outcome else { return false }
        await notifier.notify(message.address)
        return true
    }

    /// `POST /v1/deliver/batch`: each delivery checked and stored as `POST /v1/deliver` would,
    /// all that pass in one transaction; answers once it is committed, with each one's result.
    func deliverBatch(_ body: [UInt8]) async throws -> ServiceAPI.DeliveryBatchResults {
        let batch = try JSONBody.decode(ServiceAPI.DeliveryBatch.self, from: body, what: "DeliveryBatch")
        guard (1...ServiceAPI.maximumDeliveriesPerBatch).contains(batch.deliveries.count) else {
            throw ServiceError(
                .badRequest, code: "bad_batch", "A batch holds from 1 to \(ServiceAPI.maximumDeliveriesPerBatch) deliveries.")
        }
        var results = [ServiceAPI.DeliveryResult](repeating: ServiceAPI.DeliveryResult(status: 202), count: batch.deliveries.count)
        var accepted: [(index: Int, message: IncomingMessage)] = []
        for (index, delivery) in batch.deliveries.enumerated() {
            do { accepted.append((index, try open(delivery))) } catch { results[index] = Self.result(refusedWith: error) }
        }
        let outcomes = try await storage.deliver(accepted.map(\.message), now: now(), limits: limits)
        var stored = Set<AddressID>()
        for ((index, message), outcome) in zip(accepted, outcomes) {
            switch outcome {
            case .stored: stored.insert(message.address)
            case .replayed: results[index] = ServiceAPI.DeliveryResult(status: 200)
            default: if let refusal = refusal(for: outcome) { results[index] = Self.result(refusedWith: refusal) }
            }
        }
        for address in stored { await notifier.notify(address) }
        return ServiceAPI.DeliveryBatchResults(results: results)
    }

    private static func result(refusedWith refusal: ServiceError) -> ServiceAPI.DeliveryResult {
        ServiceAPI.DeliveryResult(status: Int(refusal.status.code), code: refusal.body.code, error: refusal.body.error)
    }

    /// A delivery's address, opened with the service key, and its ciphertext; or why not.
    private func open(_ delivery: ServiceAPI.Delivery) throws(ServiceError) -> IncomingMessage {
        let sealed = try JSONBody.bytes(
            delivery.sealedAddress, field: "sealedAddress", limit: Envelope.sealedAddressByteCount, tooLong: .badSealedAddress)
        let ciphertext = try JSONBody.bytes(
            delivery.ciphertext, field: "ciphertext", limit: ServiceAPI.maximumCiphertextByteCount,
            tooLong: .badCiphertext("is larger than \(ServiceAPI.maximumCiphertextByteCount) bytes"))
        guard !ciphertext.isEmpty else { throw ServiceError.badCiphertext("is empty") }
        guard sealed.count == Envelope.sealedAddressByteCount, let envelope = try? Envelope(sealedAddress: sealed, ciphertext: ciphertext),
            let address = try? envelope.openAddress(with: serviceKey)
        else { throw ServiceError.badSealedAddress }
        return IncomingMessage(address: address, ciphertext: ciphertext, replayTag: envelope.replayTag)
    }

    /// The refusal a storage outcome answers with; nil when the message was stored.
    private func refusal(for outcome: DeliveryOutcome) -> ServiceError? {
        switch outcome {
        case .stored, .replayed:
            nil
        case .unknownAddress:
            Self.unknownAddress
        case .retired:
            Self.retired
        case .overMessageQuota:
            ServiceError(
                Self.insufficientStorage, code: "quota_exceeded",
                "The address holds its maximum of \(limits.maximumMessagesPerAddress) messages; try again after its owner fetches them.")
        case .overByteQuota:
            ServiceError(
                Self.insufficientStorage, code: "quota_exceeded",
                "The address holds its maximum of \(limits.maximumBytesPerAddress) bytes; try again after its owner fetches them.")
        }
    }

    /// `GET /v1/addresses/{address}/messages?after=ID&wait=SECONDS`: at once if anything is
    /// newer than `after`, else when a delivery arrives or the wait ends.
    func messages(_ addressText: String, after: Int64, wait: TimeInterval, request: SignedRequest) async throws
        -> ServiceAPI.Messages
    {
        let address = try await authorizedLiveAddress(addressText, request: request)
        let wait = min(wait, limits.maximumWait)
        let subscription = await notifier.subscribe(address)
        do {
            var messages = try await unexpiredMessages(address, after: after)
            if messages.isEmpty, wait > 0 {
                onLongPollWaiting?(address)
                await DeliveryNotifier.wait(for: subscription.stream, seconds: wait)
                messages = try await unexpiredMessages(address, after: after)
            }
            await notifier.unsubscribe(address, id: subscription.id)
            return ServiceAPI.Messages(messages: messages)
        } catch {
            await notifier.unsubscribe(address, id: subscription.id)
            throw error
        }
    }

    /// `POST /v1/addresses/{address}/ack`.
    func acknowledge(_ addressText: String, request: SignedRequest) async throws {
        let address = try await authorizedLiveAddress(addressText, request: request)
        let body = try JSONBody.decode(ServiceAPI.Acknowledge.self, from: request.body, what: "Acknowledge")
        _ = try await storage.acknowledge(address, upTo: body.upTo)
    }

    /// `DELETE /v1/addresses/{address}`: idempotent, the tombstone keeps answering 410.
    func retire(_ addressText: String, request: SignedRequest) async throws {
        let record = try await authorizedRecord(addressText, request: request)
        if !record.isRetired { try await storage.retire(record.address, now: now()) }
    }

    private func unexpiredMessages(_ address: AddressID, after: Int64) async throws -> [ServiceAPI.StoredMessage] {
        try await storage.messages(
            for: address, after: after, receivedAfter: now().addingTimeInterval(-limits.messageLifetime),
            limit: limits.maximumMessagesPerFetch)
    }

    private func authorizedLiveAddress(_ addressText: String, request: SignedRequest) async throws -> AddressID {
        let record = try await authorizedRecord(addressText, request: request)
        guard !record.isRetired else { throw Self.retired }
        return record.address
    }

    /// Signature headers and freshness first, so that a request without them learns nothing
    /// about the address; then the owner's key, then the nonce.
    private func authorizedRecord(_ addressText: String, request: SignedRequest) async throws -> AddressRecord {
        _ = try verifier.freshSignature(of: request)
        let address = try Self.parseAddress(addressText)
        guard let record = try await storage.address(address) else { throw Self.unknownAddress }
        try await verifier.verify(request, key: record.authKey)
        return record
    }

    /// An address in a path: base64url (22 characters), or lowercase hex (32) as logs show it.
    static func parseAddress(_ text: String) throws -> AddressID {
        if text.utf8.count == 2 * AddressID.byteCount, let address = try? AddressID(hex: text) { return address }
        guard let bytes = try? Base64URL.decode(text, limit: AddressID.byteCount), let address = try? AddressID(bytes: bytes) else {
            throw badAddress
        }
        return address
    }

    /// 507: the address is full until its owner fetches; a sending service retries 5xx.
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
    static let badAddress = ServiceError(.badRequest, code: "bad_address", "The address must be 16 bytes, base64url without padding.")
    static let badAuthKey = ServiceError(.badRequest, code: "bad_auth_key", "The auth key must be a 32-byte Ed25519 public key, base64url.")
    static let unknownAddress = ServiceError(.notFound, code: "unknown_address", "No such address at this receiving service.")
    static let retired = ServiceError(.gone, code: "address_retired", "The address was retired by its owner; it accepts nothing more.")
}
