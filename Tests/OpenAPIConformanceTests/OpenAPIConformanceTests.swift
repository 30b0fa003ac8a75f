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

    @Test func aNameIsRegisteredLookedUpAndProvedAsTheSpecSays() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("OpenAPIDirectory-\(UUID().uuidString)")
        var logger = Logger(label: "test.directory")
        logger.logLevel = .warning
        let directory = try await DirectoryService.start(
            configuration: DirectoryServiceConfiguration(namespace: "example.org", dataDirectory: root, logger: logger))
        defer {
            Task {
                await directory.stop()
                try? FileManager.default.removeItem(at: root)
            }
        }
        let alice = Ed25519.PrivateKey()
        let aliceKey = Base64URL.encode(alice.publicKey.rawRepresentation)
        let client = { (key: Ed25519.PrivateKey?) in
            Client(
                serverURL: URL(string: directory.baseURL)!, transport: AsyncHTTPClientTransport(),
                middlewares: key.map { [OwnerSigning(key: $0)] } ?? [])
        }

        let info = try await client(nil).directoryInfo().ok.body.json
        #expect(info.namespace == "example.org")
        let registered = try await client(alice).registerName(body: .json(.init(namespace: "example.org", name: "alice", identityKey: aliceKey)))
        let status = try registered.created.body.json
        #expect(status.state == .attested && status.identityKey == aliceKey)
        let again = try await client(alice).registerName(body: .json(.init(namespace: "example.org", name: "alice", identityKey: aliceKey)))
        #expect(try again.ok.body.json.logIndex == status.logIndex)

        // Someone else's key for a held name, and a name that breaks the rules.
        let mallory = Ed25519.PrivateKey()
        let taken = try await client(mallory).registerName(
            body: .json(.init(namespace: "example.org", name: "alice", identityKey: Base64URL.encode(mallory.publicKey.rawRepresentation))))
        #expect(try taken.conflict.body.json.code == .name_taken)
        let invalid = try await client(alice).registerName(body: .json(.init(namespace: "example.org", name: "Alice!", identityKey: aliceKey)))
        #expect(try invalid.badRequest.body.json.code == .invalid_name)

        // The lookup, the checkpoint and an inclusion proof of the name's entry.
        let looked = try await client(nil).lookUpName(path: .init(name: "alice")).ok.body.json
        #expect(looked.bundle != nil && looked.logIndex == status.logIndex)
        let note = try await String(collecting: client(nil).checkpoint().ok.body.plainText, upTo: 4096)
        let lines = note.split(separator: "\n")
        #expect(lines.first.map(String.init) == info.origin)
        let size = try #require(lines.count > 1 ? Int(lines[1]) : nil)
        let proof = try await client(nil).inclusionProof(query: .init(index: try #require(status.logIndex), size: size))
        _ = try proof.ok
        let unknown = try await client(nil).lookUpName(path: .init(name: "nobody"))
        #expect(try unknown.notFound.body.json.code == .not_registered)
    }

    /// Every error code the services can send is in the spec's list (a generated client
    /// refuses an error body whose code is not), read from the services' sources.
    @Test func everyErrorCodeTheServicesSendIsInTheSpec() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/ProtonServices")
        var codes = Set<String>()
        let pattern = try NSRegularExpression(pattern: #"code: "([a-z_]+)""#)
        let middleware = try NSRegularExpression(pattern: #"(?:case [^:]+:|\?|:) "([a-z_]+)""#)
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            // `code: "…"` everywhere; the error middleware's own codes are bare cases.
            let patterns = file.lastPathComponent == "ErrorMiddleware.swift" ? [pattern, middleware] : [pattern]
            for pattern in patterns {
                for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    codes.insert(String(text[Range(match.range(at: 1), in: text)!]))
                }
            }
        }
        #expect(codes.count >= 40, "the scan found only \(codes.count) codes")
        let missing = codes.filter { Components.Schemas.ErrorBody.codePayload(rawValue: $0) == nil }.sorted()
        #expect(missing.isEmpty, "error codes the services send but docs/openapi.yaml does not list: \(missing)")
    }
}
