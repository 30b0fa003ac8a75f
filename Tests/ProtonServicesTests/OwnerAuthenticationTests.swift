import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// Every refused owner request returns nothing and deletes nothing.
@Suite struct OwnerAuthenticationTests {
    /// A service with one address holding two messages.
    private func serviceWithMessages(_ backend: StorageBackend) async throws -> (ReceivingFixture, Owner) {
        let service = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        try await service.create(owner)
        _ = try await service.deliver(owner.id)
        _ = try await service.deliver(owner.id)
        return (service, owner)
    }

    private func expectUntouched(_ service: ReceivingFixture, _ owner: Owner) async throws {
        #expect(try await service.storage.counts().messages == 2)
        #expect(try await service.fetch(owner).decode(ServiceAPI.Messages.self).messages.count == 2)
    }

    @Test(arguments: StorageBackend.allCases) func unsignedRequestsAreRefused(backend: StorageBackend) async throws {
        let (service, owner) = try await serviceWithMessages(backend)
        let base = service.url + "/v1/addresses/\(owner.pathID)"
        let fetch = try await HTTP.request("GET", base + "/messages")
        #expect(fetch.status == 401)
        #expect(fetch.errorCode == "bad_signature")
        #expect(!String(decoding: fetch.body, as: UTF8.self).contains("messages"))
        #expect(try await HTTP.request("POST", base + "/ack", body: HTTP.json(ServiceAPI.Acknowledge(upTo: 1_000_000))).status == 401)
        #expect(try await HTTP.request("DELETE", base).status == 401)
        try await expectUntouched(service, owner)
        await service.stop()
    }

    @Test(arguments: StorageBackend.allCases) func replayedSignatureIsRefused(backend: StorageBackend) async throws {
        let (service, owner) = try await serviceWithMessages(backend)
        let path = "/v1/addresses/\(owner.pathID)/ack"
        let body = HTTP.json(ServiceAPI.Acknowledge(upTo: 0))
        let headers = owner.headers("POST", path, body: body)
        #expect(try await HTTP.request("POST", service.url + path, body: body, headers: headers).status == 204)
        let replay = try await HTTP.request("POST", service.url + path, body: body, headers: headers)
        #expect(replay.status == 401)
        #expect(replay.errorCode == "replayed_request")

        let fetchPath = "/v1/addresses/\(owner.pathID)/messages"
        let fetchHeaders = owner.headers("GET", fetchPath)
        #expect(try await HTTP.request("GET", service.url + fetchPath, headers: fetchHeaders).status == 200)
        let replayedFetch = try await HTTP.request("GET", service.url + fetchPath, headers: fetchHeaders)
        #expect(replayedFetch.errorCode == "replayed_request")
        #expect(replayedFetch.body.count < 200)
        try await expectUntouched(service, owner)
        await service.stop()
    }

    @Test(arguments: StorageBackend.allCases) func staleTimestampIsRefused(backend: StorageBackend) async throws {
        let (service, owner) = try await serviceWithMessages(backend)
        let path = "/v1/addresses/\(owner.pathID)"
        for skew in [-RequestSignature.allowedSkew - 5, RequestSignature.allowedSkew + 5] {
            let headers = owner.headers("DELETE", path, now: Date().addingTimeInterval(skew))
            let answer = try await HTTP.request("DELETE", service.url + path, headers: headers)
            #expect(answer.status == 401)
            #expect(answer.errorCode == "stale_request")
        }
        try await expectUntouched(service, owner)
        await service.stop()
    }

    @Test(arguments: StorageBackend.allCases) func signatureOverADifferentRequestIsRefused(backend: StorageBackend) async throws {
        let (service, owner) = try await serviceWithMessages(backend)
        let path = "/v1/addresses/\(owner.pathID)/ack"
        let signedBody = HTTP.json(ServiceAPI.Acknowledge(upTo: 0))
        let sentBody = HTTP.json(ServiceAPI.Acknowledge(upTo: 1_000_000))
        let answer = try await HTTP.request("POST", service.url + path, body: sentBody, headers: owner.headers("POST", path, body: signedBody))
        #expect(answer.status == 401)
        #expect(answer.errorCode == "bad_signature")
        try await expectUntouched(service, owner)
        await service.stop()
    }

    @Test(arguments: StorageBackend.allCases) func someoneElsesKeyIsRefused(backend: StorageBackend) async throws {
        let (service, owner) = try await serviceWithMessages(backend)
        let intruder = Owner()
        try await service.create(intruder)
        let intruderKey = Base64URL.encode(intruder.owned.authKey.publicKey.rawRepresentation)
        let base = "/v1/addresses/\(owner.pathID)"

        let fetch = try await HTTP.request(
            "GET", service.url + base + "/messages",
            headers: intruder.headers("GET", base + "/messages", key: intruder.owned.authKey) + [("Proton-Key", intruderKey)])
        #expect(fetch.status == 403)
        #expect(fetch.errorCode == "not_owner")

        let body = HTTP.json(ServiceAPI.Acknowledge(upTo: 1_000_000))
        let ack = try await HTTP.request(
            "POST", service.url + base + "/ack", body: body,
            headers: intruder.headers("POST", base + "/ack", body: body, key: intruder.owned.authKey) + [("Proton-Key", intruderKey)])
        #expect(ack.status == 403)

        // Without naming its key, the intruder's signature simply does not verify.
        let retire = try await HTTP.request("DELETE", service.url + base, headers: intruder.headers("DELETE", base, key: intruder.owned.authKey))
        #expect(retire.status == 401)
        #expect(retire.errorCode == "bad_signature")
        try await expectUntouched(service, owner)
        #expect(try await service.storage.counts().retiredAddresses == 0)
        await service.stop()
    }

    @Test(arguments: StorageBackend.allCases) func creatingAnAddressNeedsTheKeysSignature(backend: StorageBackend) async throws {
        let service = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        let other = Owner()
        let answer = try await HTTP.request(
            "POST", service.url + "/v1/addresses", body: owner.createBody,
            headers: other.headers("POST", "/v1/addresses", body: owner.createBody))
        #expect(answer.status == 401)
        #expect(try await HTTP.request("POST", service.url + "/v1/addresses", body: owner.createBody).status == 401)
        #expect(try await service.storage.counts().addresses == 0)
        await service.stop()
    }
}
