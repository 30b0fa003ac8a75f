import Foundation
import HTTPTypes
import Logging
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// The real services, called through a client that swift-openapi-generator makes from
/// docs/openapi.yaml at build time: every answer must be one the spec documents (an
/// undocumented status or a body of another shape fails), so the spec and the code cannot
/// drift apart unnoticed. Owner requests are signed by a middleware over the exact bytes the
/// generated client sends (docs/api.md, "Owner signatures").
@Suite(.serialized)
struct OpenAPIConformanceTests {
    /// Signs every request with `key` (`RequestSignature`), replacing the placeholder headers.
    struct OwnerSigning: ClientMiddleware {
        let key: Ed25519.PrivateKey
        /// Sign as `signer` instead, to see a wrong key refused.
        var signer: Ed25519.PrivateKey?

        func intercept(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
            next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
        ) async throws -> (HTTPResponse, HTTPBody?) {
            let bytes: [UInt8] = if let body { try await [UInt8](collecting: body, upTo: 1 << 20) } else { [] }
            let signature = RequestSignature.sign(
                method: request.method.rawValue, pathAndQuery: baseURL.path + (request.path ?? ""), body: bytes, key: signer ?? key,
                now: Date(), random: SystemRandom())
            var request = request
            for (name, value) in signature.headers { request.headerFields[HTTPField.Name(name)!] = value }
            return try await next(request, body == nil ? nil : HTTPBody(bytes), baseURL)
        }
    }

    final class World: @unchecked Sendable {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("OpenAPIConformance-\(UUID().uuidString)")
        let receiving: RunningService
        let sending: RunningService

        init() async throws {
            receiving = try await ReceivingService.start(
                configuration: ReceivingServiceConfiguration(dataDirectory: root.appendingPathComponent("receiving")))
            sending = try await SendingService.start(
                configuration: SendingServiceConfiguration(
                    dataDirectory: root.appendingPathComponent("sending"),
                    forwarding: ForwardingPolicy(initialBackoff: 0.2, maximumBackoff: 1, requestTimeout: 5, allowsPrivateTargets: true),
                    sendRateLimit: .unlimited))
        }

        func client(_ service: RunningService, signedBy key: Ed25519.PrivateKey? = nil, as signer: Ed25519.PrivateKey? = nil) -> Client {
            Client(
                serverURL: URL(string: service.baseURL)!, transport: AsyncHTTPClientTransport(),
                middlewares: key.map { [OwnerSigning(key: $0, signer: signer)] } ?? [])
        }

        func stop() async {
            await receiving.stop()
            await sending.stop()
            try? FileManager.default.removeItem(at: root)
        }
    }

    /// Placeholders the signing middleware replaces.
    static let unsigned = (timestamp: "0", nonce: "AAAAAAAAAAAAAAAAAAAAAA")

    @Test func anAddressesWholeLifeGoesAsTheSpecSays() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let owner = Ed25519.PrivateKey()
        let address = try AddressID(bytes: SystemRandom().bytes(AddressID.byteCount))
        let addressText = Base64URL.encode(address.bytes)
        let receiving = world.client(world.receiving, signedBy: owner)

        // The service's key and limits.
        let info = try await world.client(world.receiving).serviceInfo().ok.body.json
        let serviceKey = try SealedBox.PublicKey(rawRepresentation: Base64URL.decode(info.publicKey, limit: 32))
        #expect(info.maximumMessagesPerAddress > 0 && info.messageLifetimeSeconds > 0)

        // The owner creates the address; a second creation is refused as documented.
        let create = Components.Schemas.CreateAddress(address: addressText, authKey: Base64URL.encode(owner.publicKey.rawRepresentation))
        _ = try await receiving.createAddress(
            headers: .init(Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce), body: .json(create)
        ).created
        let again = try await receiving.createAddress(
            headers: .init(Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce), body: .json(create))
        #expect(try again.conflict.body.json.code == .address_exists)

        // Two messages through the sending service, one straight to the receiving service.
        let route = try Route(serviceURI: world.receiving.baseURL, serviceKey: serviceKey, address: address)
        let sending = world.client(world.sending)
        for text in ["one", "two"] {
            let envelope = try Envelope(sealing: Array(text.utf8), to: route, random: SystemRandom())
            let accepted = try await sending.send(
                body: .json(
                    .init(
                        receivingService: world.receiving.baseURL, serviceKey: info.publicKey,
                        sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
            ).accepted.body.json
            #expect(!accepted.id.isEmpty)
        }
        let direct = try Envelope(sealing: Array("three".utf8), to: route, random: SystemRandom())
        _ = try await world.client(world.receiving).deliver(
            body: .json(.init(sealedAddress: Base64URL.encode(direct.sealedAddress), ciphertext: Base64URL.encode(direct.ciphertext)))
        ).accepted

        // The owner fetches all three (waiting for the forwarded ones), in order.
        var messages = [Components.Schemas.StoredMessage]()
        for _ in 0..<20 where messages.count < 3 {
            let after = messages.last.map { Int($0.id) } ?? 0
            let fetched = try await receiving.fetchMessages(
                path: .init(address: addressText), query: .init(after: after, wait: 2),
                headers: .init(Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce)
            ).ok.body.json
            messages += fetched.messages
        }
        #expect(messages.count == 3)
        #expect(messages.map(\.id) == messages.map(\.id).sorted())
        let bodies = Set(try messages.map { try Base64URL.decode($0.ciphertext, limit: 4096) })
        #expect(bodies.contains(direct.ciphertext))

        // Someone else's key is told apart from a broken signature, as documented.
        let intruder = Ed25519.PrivateKey()
        let refused = try await world.client(world.receiving, signedBy: owner, as: intruder).fetchMessages(
            path: .init(address: addressText), query: .init(),
            headers: .init(
                Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce,
                Proton_hyphen_Key: Base64URL.encode(intruder.publicKey.rawRepresentation)))
        #expect(try refused.forbidden.body.json.code == .not_owner)
        let unsignedFetch = try await world.client(world.receiving).fetchMessages(
            path: .init(address: addressText), query: .init(),
            headers: .init(Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce))
        #expect(try unsignedFetch.unauthorized.body.json.code == .bad_signature)

        // Acknowledged, then retired; a delivery to a retired address is 410.
        _ = try await receiving.acknowledge(
            path: .init(address: addressText),
            headers: .init(Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce),
            body: .json(.init(upTo: messages.last!.id))
        ).noContent
        _ = try await receiving.retireAddress(
            path: .init(address: addressText), headers: .init(Proton_hyphen_Timestamp: Self.unsigned.timestamp, Proton_hyphen_Nonce: Self.unsigned.nonce)
        ).noContent
        let late = try Envelope(sealing: Array("late".utf8), to: route, random: SystemRandom())
        let gone = try await world.client(world.receiving).deliver(
            body: .json(.init(sealedAddress: Base64URL.encode(late.sealedAddress), ciphertext: Base64URL.encode(late.ciphertext))))
        #expect(try gone.gone.body.json.code == .address_retired)
    }

    @Test func malformedBodiesGetTheDocumentedErrors() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let receiving = world.client(world.receiving)
        let badBase64 = try await receiving.deliver(body: .json(.init(sealedAddress: "***", ciphertext: "AAAA")))
        #expect(try badBase64.badRequest.body.json.code == .bad_base64)
        let sending = world.client(world.sending)
        let unknown = try await sending.sendStatus(path: .init(id: "AAAAAAAAAAAAAAAAAAAAAA"))
        #expect(try unknown.notFound.body.json.code == .unknown_send)
    }
}
