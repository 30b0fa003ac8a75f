import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// Every malformed request gets a 4xx with a clear code, and nothing is stored.
@Suite struct BadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let status: Int
        let code: String
        /// The request body, given a well-formed sealed address and ciphertext to spoil.
        let body: @Sendable (_ sealed: String, _ ciphertext: String) -> [UInt8]

        var testDescription: String { name }
    }

    static let deliveryCases: [Case] = [
        Case(name: "not JSON", status: 400, code: "malformed_json") { _, _ in Array("{not json".utf8) },
        Case(name: "empty body", status: 400, code: "malformed_json") { _, _ in [] },
        Case(name: "a JSON array", status: 400, code: "malformed_json") { _, _ in Array("[]".utf8) },
        Case(name: "missing ciphertext", status: 400, code: "malformed_json") { sealed, _ in
            Array("{\"sealedAddress\":\"\(sealed)\"}".utf8)
        },
        Case(name: "number for ciphertext", status: 400, code: "malformed_json") { sealed, _ in
            Array("{\"sealedAddress\":\"\(sealed)\",\"ciphertext\":5}".utf8)
        },
        Case(name: "oversized body", status: 413, code: "body_too_large") { sealed, _ in
            HTTP.json(ServiceAPI.Delivery(sealedAddress: sealed, ciphertext: String(repeating: "A", count: ServiceAPI.maximumBodyByteCount + 2048)))
        },
        Case(name: "padded base64", status: 400, code: "bad_base64") { sealed, ciphertext in
            HTTP.json(ServiceAPI.Delivery(sealedAddress: sealed, ciphertext: ciphertext + "=="))
        },
        Case(name: "standard alphabet", status: 400, code: "bad_base64") { sealed, _ in
            HTTP.json(ServiceAPI.Delivery(sealedAddress: sealed, ciphertext: "ab+/"))
        },
        Case(name: "sealed address with spaces", status: 400, code: "bad_base64") { sealed, ciphertext in
            HTTP.json(ServiceAPI.Delivery(sealedAddress: " " + sealed.dropFirst(), ciphertext: ciphertext))
        },
        Case(name: "sealed address one byte short", status: 400, code: "bad_sealed_address") { sealed, ciphertext in
            let bytes = try! Base64URL.decode(sealed, limit: 1000)
            return HTTP.json(ServiceAPI.Delivery(sealedAddress: Base64URL.encode(Array(bytes.dropLast())), ciphertext: ciphertext))
        },
        Case(name: "sealed address one byte long", status: 400, code: "bad_sealed_address") { sealed, ciphertext in
            let bytes = try! Base64URL.decode(sealed, limit: 1000)
            return HTTP.json(ServiceAPI.Delivery(sealedAddress: Base64URL.encode(bytes + [0]), ciphertext: ciphertext))
        },
        Case(name: "sealed address tampered", status: 400, code: "bad_sealed_address") { sealed, ciphertext in
            var bytes = try! Base64URL.decode(sealed, limit: 1000)
            bytes[bytes.count - 1] ^= 1
            return HTTP.json(ServiceAPI.Delivery(sealedAddress: Base64URL.encode(bytes), ciphertext: ciphertext))
        },
        Case(name: "sealed to another service", status: 400, code: "bad_sealed_address") { _, ciphertext in
            let other = try! Route(
                serviceURI: "http://elsewhere", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom()))
            let envelope = try! Envelope(sealing: [1], to: other, random: SystemRandom())
            return HTTP.json(ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: ciphertext))
        },
        Case(name: "empty ciphertext", status: 400, code: "bad_ciphertext") { sealed, _ in
            HTTP.json(ServiceAPI.Delivery(sealedAddress: sealed, ciphertext: ""))
        },
        Case(name: "ciphertext over the limit", status: 400, code: "bad_ciphertext") { sealed, _ in
            HTTP.json(
                ServiceAPI.Delivery(
                    sealedAddress: sealed, ciphertext: Base64URL.encode([UInt8](repeating: 1, count: ServiceAPI.maximumCiphertextByteCount + 1))))
        },
    ]

    @Test(arguments: deliveryCases)
    func receivingServiceRefusesBadDelivery(_ testCase: Case) async throws {
        let service = try await ReceivingFixture.start()
        let owner = Owner()
        try await service.create(owner)
        let envelope = try service.sealed(owner.id)
        let body = testCase.body(Base64URL.encode(envelope.sealedAddress), Base64URL.encode(envelope.ciphertext))
        let answer = try await HTTP.request("POST", service.url + "/v1/deliver", body: body)
        #expect(answer.status == testCase.status)
        #expect(answer.errorCode == testCase.code)
        #expect(try !answer.decode(ServiceAPI.ErrorBody.self).error.isEmpty)
        #expect(try await service.storage.counts().messages == 0)
        await service.stop()
    }

    @Test(arguments: deliveryCases.filter { $0.name != "sealed address tampered" && $0.name != "sealed to another service" })
    func sendingServiceRefusesBadSend(_ testCase: Case) async throws {
        let directory = temporaryDirectory("bad-send")
        let storage = try SQLiteSendingStorage(directory: directory)
        let running = try await SendingService.start(
            configuration: SendingServiceConfiguration(dataDirectory: directory, forwarding: ForwardingPolicy(isEnabled: false)),
            storage: storage)
        let route = try Route(serviceURI: "http://127.0.0.1:9", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom()))
        let envelope = try Envelope(sealing: [1, 2, 3], to: route, random: SystemRandom())
        let delivery = testCase.body(Base64URL.encode(envelope.sealedAddress), Base64URL.encode(envelope.ciphertext))
        // The same spoilt fields, wrapped in a Send.
        var body = delivery
        if var object = try? JSONSerialization.jsonObject(with: Data(delivery)) as? [String: Any] {
            object["receivingService"] = "http://127.0.0.1:9"
            object["serviceKey"] = Base64URL.encode(route.serviceKey.rawRepresentation)
            body = Array(try JSONSerialization.data(withJSONObject: object))
        }
        let answer = try await HTTP.request("POST", running.baseURL + "/v1/send", body: body)
        #expect(answer.status == testCase.status)
        #expect(answer.errorCode == testCase.code)
        #expect(try await storage.counts() == SendingStorageCounts(queued: 0, delivered: 0, failed: 0, withCiphertext: 0))
        await running.stop()
    }

    @Test(arguments: [
        ("not a URI", "no scheme"), ("ftp://example.org", "ftp"), ("http://", "no host"),
        ("http://example.org/?q=1", "a query"), ("http://" + String(repeating: "a", count: 300), "too long"),
        ("http://127.0.0.1:9099/admin/reset", "a path prefix"), ("http://user:secret@example.org", "user info"),
        ("http://example.org:0", "port 0"), ("http://example.org#x", "a fragment"),
    ])
    func sendingServiceRefusesBadReceivingService(_ uri: String, _ reason: String) async throws {
        let directory = temporaryDirectory("bad-uri")
        let storage = try SQLiteSendingStorage(directory: directory)
        let running = try await SendingService.start(
            configuration: SendingServiceConfiguration(dataDirectory: directory, forwarding: ForwardingPolicy(isEnabled: false)),
            storage: storage)
        let send = ServiceAPI.Send(
            receivingService: uri, serviceKey: Base64URL.encode([UInt8](repeating: 9, count: 32)), sealedAddress: Base64URL.encode([UInt8](repeating: 0, count: Envelope.sealedAddressByteCount)),
            ciphertext: Base64URL.encode([1]))
        let answer = try await HTTP.request("POST", running.baseURL + "/v1/send", body: HTTP.json(send))
        #expect(answer.status == 400, "\(reason)")
        #expect(answer.errorCode == "bad_receiving_service")
        #expect(try await storage.counts().queued == 0)
        await running.stop()
    }

    @Test func badQueryAndAddressesAreRefused() async throws {
        let service = try await ReceivingFixture.start()
        let owner = Owner()
        try await service.create(owner)
        for query in ["after=-1", "after=x", "wait=soon"] {
            let path = "/v1/addresses/\(owner.pathID)/messages?\(query)"
            let answer = try await HTTP.request("GET", service.url + path, headers: owner.headers("GET", path))
            #expect(answer.status == 400)
            #expect(answer.errorCode == "bad_query")
        }
        let path = "/v1/addresses/tooshort/messages"
        let answer = try await HTTP.request("GET", service.url + path, headers: owner.headers("GET", path))
        #expect(answer.errorCode == "bad_address")

        let badCreate = HTTP.json(ServiceAPI.CreateAddress(address: "AAAA", authKey: Base64URL.encode(owner.owned.authKey.publicKey.rawRepresentation)))
        let created = try await HTTP.request(
            "POST", service.url + "/v1/addresses", body: badCreate, headers: owner.headers("POST", "/v1/addresses", body: badCreate))
        #expect(created.errorCode == "bad_address")
        #expect(created.status == 400)
        #expect(try await service.storage.counts().addresses == 1)
        #expect(try await HTTP.request("GET", service.url + "/v1/nothing").errorCode == "not_found")
        await service.stop()
    }
}
