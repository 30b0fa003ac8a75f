import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// What the services read from anyone (JSON request bodies, the owner-signature headers) and
/// what the clients read from a service (JSON answers), the directory's and the broker's
/// included: decoded as the services and their clients decode them; whatever decodes survives
/// encoding unchanged.
enum ServiceTargets {
    static let all: [FuzzTarget] = [json, directJSON, requestSignature]

    /// The first byte picks the body type, the rest is the JSON.
    static let json = FuzzTarget(
        "service-json", "The services' JSON request bodies and answers: decode, then encode and decode to the same value",
        seeds: { bodies.enumerated().map { [UInt8($0.offset)] + $0.element.example } }
    ) { input throws(FuzzViolation) in
        guard let first = input.first else { return false }
        let body = bodies[Int(first) % bodies.count]
        guard let survives = body.check(Array(input.dropFirst())) else { return false }
        try require(survives, "service-json", "a decoded \(body.name) does not survive encoding")
        return true
    }

    /// The bodies the services read and write directly (ProtonCore's DirectJSON): whatever the
    /// direct reader accepts, `JSONDecoder` decodes to the same value, and what the direct
    /// writer writes is byte for byte what `JSONEncoder` (sorted keys) writes. The first byte
    /// picks the body type, the rest is the JSON.
    static let directJSON = FuzzTarget(
        "direct-json", "Bodies read and written directly: the same values as JSONDecoder, the same bytes as JSONEncoder",
        seeds: { directBodies.enumerated().map { [UInt8($0.offset)] + $0.element.example } }
    ) { input throws(FuzzViolation) in
        guard let first = input.first else { return false }
        let body = directBodies[Int(first) % directBodies.count]
        guard let agrees = body.check(Array(input.dropFirst())) else { return false }
        try require(agrees, "direct-json", "the direct reader or writer disagrees with Foundation on a \(body.name)")
        return true
    }

    /// nil if Foundation refuses the bytes and the direct reader does too; else whether they agree.
    static func direct<T: Codable & Equatable & Sendable>(_ type: T.Type, _ example: T, read: @escaping @Sendable ([UInt8]) -> T?) -> Body {
        Body(
            name: "\(T.self)", example: Array(try! ServiceJSON.encoder.encode(example)),
            check: { bytes in
                let foundation = try? JSONDecoder().decode(T.self, from: Data(bytes))
                if let direct = read(bytes), direct != foundation { return false }
                guard let value = foundation else { return nil }
                if let written = (value as? any DirectJSONEncodable)?.directJSON {
                    return (try? ServiceJSON.encoder.encode(value)).map(Array.init) == written
                }
                return true
            })
    }

    static let directBodies: [Body] = {
        let envelope = Seeds.envelope
        let sealed = Base64URL.encode(envelope.sealedAddress)
        let ciphertext = Base64URL.encode(envelope.ciphertext)
        return [
            direct(
                ServiceAPI.Send.self,
                .init(
                    receivingService: Fixtures.serviceURI, serviceKey: Base64URL.encode(Fixtures.serviceKey.publicKey.rawRepresentation),
                    sealedAddress: sealed, ciphertext: ciphertext), read: ServiceAPI.Send.directJSON),
            direct(ServiceAPI.Delivery.self, .init(sealedAddress: sealed, ciphertext: ciphertext), read: ServiceAPI.Delivery.directJSON),
            direct(
                ServiceAPI.DeliveryBatch.self,
                .init(deliveries: [.init(sealedAddress: sealed, ciphertext: ciphertext), .init(sealedAddress: sealed, ciphertext: "AA")]),
                read: ServiceAPI.DeliveryBatch.directJSON),
            direct(
                ServiceAPI.Messages.self,
                .init(messages: [.init(id: 3, ciphertext: ciphertext, receivedAt: 1_800_000_000), .init(id: -1, ciphertext: "", receivedAt: 0)]),
                read: ServiceAPI.Messages.directJSON),
            direct(ServiceAPI.SendStatus.self, .init(id: "q1", state: .failed, attempts: 2, outcome: .gone, error: "retired"), read: { _ in nil }),
        ]
    }()

    /// The three `Proton-*` headers of an owner-signed request, one per line; whatever verifies
    /// for the fixed request and key must be the genuine signature.
    static let requestSignature = FuzzTarget(
        "request-signature", "Owner request-signature headers: parse, re-encode, and verify against a fixed request",
        seeds: { [Array(genuine.headers.map(\.value).joined(separator: "\n").utf8)] }
    ) { input throws(FuzzViolation) in
        let lines = input.split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false).map { Array($0).text }
        guard lines.count == 3,
            let parsed = try? RequestSignature(timestampHeader: lines[0], nonceHeader: lines[1], signatureHeader: lines[2])
        else { return false }
        let again = try? RequestSignature(
            timestampHeader: parsed.headers[0].value, nonceHeader: parsed.headers[1].value, signatureHeader: parsed.headers[2].value)
        try require(again?.signature == parsed.signature && again?.nonce == parsed.nonce, "request-signature", "headers do not round-trip")
        if parsed.isValid(method: "GET", pathAndQuery: path, body: [], key: ownerKey.publicKey) {
            try require(
                parsed.signature == genuine.signature && parsed.nonce == genuine.nonce && parsed.timestamp == genuine.timestamp,
                "request-signature", "a signature the owner never made verified")
        }
        return true
    }

    static let ownerKey = Ed25519.PrivateKey(using: Fixtures.random("owner"))
    static let path = "/v1/addresses/AAECAwQFBgcICQoLDA0ODw/messages?after=0&wait=0"
    static let genuine = RequestSignature.sign(
        method: "GET", pathAndQuery: path, body: [], key: ownerKey, now: Fixtures.now, random: Fixtures.random("signature"))

    struct Body: Sendable {
        let name: String
        let example: [UInt8]
        /// nil if refused; else whether the decoded value survives encoding and decoding.
        let check: @Sendable ([UInt8]) -> Bool?
    }

    static func body<T: Codable & Equatable & Sendable>(_ type: T.Type, _ example: T) -> Body {
        Body(
            name: "\(T.self)", example: Array(try! JSONEncoder().encode(example)),
            check: { bytes in
                guard let value = try? JSONDecoder().decode(T.self, from: Data(bytes)) else { return nil }
                guard let encoded = try? JSONEncoder().encode(value) else { return false }
                return (try? JSONDecoder().decode(T.self, from: encoded)) == value
            })
    }

    static let bodies: [Body] = {
        let envelope = Seeds.envelope
        let sealed = Base64URL.encode(envelope.sealedAddress)
        let ciphertext = Base64URL.encode(envelope.ciphertext)
        let identity = Base64URL.encode(Seeds.alex.publicIdentity.rawRepresentation)
        return [
            body(ServiceAPI.CreateAddress.self, .init(address: "AAECAwQFBgcICQoLDA0ODw", authKey: Base64URL.encode(Array(0..<32)))),
            body(ServiceAPI.Delivery.self, .init(sealedAddress: sealed, ciphertext: ciphertext)),
            body(ServiceAPI.DeliveryBatch.self, .init(deliveries: [.init(sealedAddress: sealed, ciphertext: ciphertext)])),
            body(ServiceAPI.Acknowledge.self, .init(upTo: 7)),
            body(
                ServiceAPI.Send.self,
                .init(
                    receivingService: Fixtures.serviceURI, serviceKey: Base64URL.encode(Fixtures.serviceKey.publicKey.rawRepresentation),
                    sealedAddress: sealed, ciphertext: ciphertext)),
            body(ServiceAPI.Messages.self, .init(messages: [.init(id: 3, ciphertext: ciphertext, receivedAt: 1_800_000_000)])),
            body(ServiceAPI.SendStatus.self, .init(id: "q1", state: .failed, attempts: 2, outcome: .gone, error: "retired")),
            body(ServiceAPI.DeliveryBatchResults.self, .init(results: [.init(status: 507, code: "quota_exceeded", error: "full")])),
            body(
                ServiceAPI.ServiceInfo.self,
                .init(
                    publicKey: Base64URL.encode(Fixtures.serviceKey.publicKey.rawRepresentation), messageLifetimeSeconds: 604_800,
                    maximumMessagesPerAddress: 1_000, maximumBytesPerAddress: 1 << 20)),
            body(ServiceAPI.ErrorBody.self, .init(error: "The address is retired.", code: "address_retired")),
            body(
                DirectoryAPI.Info.self,
                .init(
                    namespace: "example.org", origin: "example.org/directory", verifierKey: Seeds.Directory.key.verifier.verifierKey,
                    policy: "open", attestationLifetimeSeconds: 31_536_000, brokered: true)),
            body(DirectoryAPI.NameRequest.self, .init(namespace: "example.org", name: "alex", identityKey: identity)),
            body(
                DirectoryAPI.KeyChangeRequest.self,
                .init(namespace: "example.org", name: "alex", identityKey: identity, newIdentityKey: identity)),
            body(
                DirectoryAPI.NameStatus.self,
                .init(
                    state: .attested, name: "alex", namespace: "example.org", identityKey: identity, logIndex: 4,
                    bundle: Base64URL.encode(Seeds.Directory.bundle.encoded()))),
            body(DirectoryAPI.Proof.self, .init(from: 3, size: 8, hashes: [Base64URL.encode(Array(repeating: 7, count: 32))])),
            body(DirectoryAPI.Leaf.self, .init(index: 2, leaf: Base64URL.encode(Array(repeating: 1, count: 40)))),
            body(BrokerAPI.Publish.self, .init(keyPackage: Base64URL.encode(Seeds.keyPackage.encoded()), rule: .attested, trustedDirectories: [Seeds.Directory.key.verifier.verifierKey])),
            body(BrokerAPI.Published.self, .init(name: "alex", oneTimePrekeys: 10, rule: .open)),
            body(BrokerAPI.Fetch.self, .init(requesterKey: identity, attestation: Base64URL.encode(Seeds.Directory.bundle.encoded()))),
            body(BrokerAPI.FetchResult.self, .init(keyPackage: Base64URL.encode(Seeds.keyPackage.encoded()), oneTimePrekeyIncluded: true, requestID: "r1")),
            body(BrokerAPI.ContactRequests.self, .init(requests: [.init(id: "r1", requesterKey: identity, state: "pending", created: 1_800_000_000)])),
        ]
    }()
}
