import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// A sealed address is no bearer token: it is good for its own ciphertext only, and an envelope
/// is stored once, so whoever sees one on the way (a sending service, the wire) can neither fill
/// the address's quota with it, nor tell which envelopes go to one address, nor learn when it is
/// retired.
@Suite struct EnvelopeReplayTests {
    private func body(_ envelope: Envelope) -> [UInt8] {
        HTTP.json(
            ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
    }

    @Test(arguments: StorageBackend.allCases) func aReplayedEnvelopeIsStoredOnceAndCostsNoQuota(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend, limits: ReceivingServiceLimits(maximumMessagesPerAddress: 2))
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id, ciphertext: [1])

        #expect(try await HTTP.request("POST", receiving.url + "/v1/deliver", body: body(envelope)).status == 202)
        for _ in 0..<5 {
            #expect(try await HTTP.request("POST", receiving.url + "/v1/deliver", body: body(envelope)).status == 200)
        }
        // The replays took nothing of the quota of two: a genuine second message still fits.
        #expect(try await receiving.deliver(owner.id, ciphertext: [2]).status == 202)
        let held = try await receiving.fetch(owner).decode(ServiceAPI.Messages.self).messages
        #expect(held.map(\.ciphertext) == [Base64URL.encode([1]), Base64URL.encode([2])])

        // In a batch too: the replay answers 200, the new one 202.
        let fresh = try receiving.sealed(owner.id, ciphertext: [3])
        _ = try await receiving.acknowledge(owner, upTo: held.last!.id)
        let batch = HTTP.json(
            ServiceAPI.DeliveryBatch(deliveries: [envelope, fresh].map {
                ServiceAPI.Delivery(sealedAddress: Base64URL.encode($0.sealedAddress), ciphertext: Base64URL.encode($0.ciphertext))
            }))
        let results = try await HTTP.request("POST", receiving.url + "/v1/deliver/batch", body: batch).decode(ServiceAPI.DeliveryBatchResults.self)
        #expect(results.results.map(\.status) == [200, 202])
        await receiving.stop()
    }

    @Test(arguments: StorageBackend.allCases) func aSealedAddressWithAnotherCiphertextIsRefused(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id, ciphertext: Array("the real one".utf8))
        let reused = HTTP.json(
            ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(Array("filler".utf8))))
        let answer = try await HTTP.request("POST", receiving.url + "/v1/deliver", body: reused)
        #expect(answer.status == 400)
        #expect(answer.errorCode == "bad_sealed_address")
        #expect(try await receiving.storage.counts().messages == 0)
        await receiving.stop()
    }

    /// A replay says nothing about the address: after its owner retired it, the replay still
    /// gets the 200 it got before, not the 410 a new message would.
    @Test(arguments: StorageBackend.allCases) func aReplayLearnsNothingOfTheAddressState(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id)
        #expect(try await HTTP.request("POST", receiving.url + "/v1/deliver", body: body(envelope)).status == 202)
        _ = try await receiving.retire(owner)
        #expect(try await HTTP.request("POST", receiving.url + "/v1/deliver", body: body(envelope)).status == 200)
        #expect(try await receiving.deliver(owner.id).status == 410)
        await receiving.stop()
    }

    /// The replay tags expire with the messages they guard, so the table does not grow forever.
    @Test(arguments: StorageBackend.allCases) func replayTagsAreSweptWithTheMessageLifetime(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(
            backend: backend,
            limits: ReceivingServiceLimits(messageLifetime: 60), sweepInterval: 0.05)
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id)
        #expect(try await HTTP.request("POST", receiving.url + "/v1/deliver", body: body(envelope)).status == 202)
        receiving.clock.advance(by: 120)
        #expect(try await eventually { try await receiving.storage.counts().messages == 0 })
        // Past the lifetime the envelope would be stored again (the recipient's ratchet drops
        // the duplicate): the tag was swept with the message.
        #expect(try await eventually {
            try await HTTP.request("POST", receiving.url + "/v1/deliver", body: body(envelope)).status == 202
        })
        await receiving.stop()
    }

    @Test(arguments: StorageBackend.allCases) func aPaddedSealedAddressIsBadBase64AsTheDocumentSays(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id)
        let padded = Base64URL.encode(envelope.sealedAddress) + "="
        let answer = try await HTTP.request(
            "POST", receiving.url + "/v1/deliver",
            body: HTTP.json(ServiceAPI.Delivery(sealedAddress: padded, ciphertext: Base64URL.encode(envelope.ciphertext))))
        #expect(answer.status == 400)
        #expect(answer.errorCode == "bad_base64")
        await receiving.stop()
    }
}
