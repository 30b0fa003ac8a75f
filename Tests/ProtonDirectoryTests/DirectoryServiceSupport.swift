import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

/// A directory service on loopback with its own data directory, and raw HTTP to it.
final class DirectoryServiceFixture: @unchecked Sendable {
    static let namespace = "example.org"

    let dataDirectory: URL
    let service: RunningService
    let info: DirectoryAPI.Info
    var url: String { service.baseURL }
    var verifier: NoteVerifier { try! NoteVerifier(verifierKey: info.verifierKey) }

    /// Starts a directory on `dataDirectory` (a new one by default), on `port` (any by default).
    static func start(
        policy: DirectoryPolicy = .open, dataDirectory: URL? = nil, port: Int = 0, brokered: Bool = false,
        brokerLimits: BrokerLimits = BrokerLimits(), now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> DirectoryServiceFixture {
        let directory = dataDirectory ?? Self.newDataDirectory()
        var logger = Logger(label: "test.directory")
        logger.logLevel = .warning
        let service = try await DirectoryService.start(
            configuration: DirectoryServiceConfiguration(
                namespace: namespace, policy: policy, listen: ListenAddress(host: "127.0.0.1", port: port), dataDirectory: directory,
                brokered: brokered, brokerLimits: brokerLimits, logger: logger, now: now))
        let answer = try await DirectoryHTTP.request("GET", service.baseURL + "/v1/directory/info")
        return DirectoryServiceFixture(dataDirectory: directory, service: service, info: try answer.decode(DirectoryAPI.Info.self))
    }

    private init(dataDirectory: URL, service: RunningService, info: DirectoryAPI.Info) {
        self.dataDirectory = dataDirectory
        self.service = service
        self.info = info
    }

    static func newDataDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("proton-directory-service-\(UUID().uuidString.prefix(8))")
    }

    func stop() async { await service.stop() }

    /// The log's size as the service's own checkpoint tells it.
    func logSize() async throws -> UInt64 {
        let answer = try await DirectoryHTTP.request("GET", url + "/v1/log/checkpoint")
        return try SignedCheckpoint(verifying: String(decoding: answer.body, as: UTF8.self), verifier: verifier).checkpoint.size
    }

    /// POST `path` with `body`, signed by `signer` (none: unsigned).
    func post(
        _ path: String, body: [UInt8], signer: Ed25519.PrivateKey?, now: Date = Date(), extraHeaders: [(String, String)] = []
    ) async throws -> DirectoryAnswer {
        var headers = extraHeaders
        if let signer {
            let signature = RequestSignature.sign(method: "POST", pathAndQuery: path, body: body, key: signer, now: now, random: SystemRandom())
            headers += signature.headers.map { ($0.name, $0.value) }
        }
        return try await DirectoryHTTP.request("POST", url + path, body: body, headers: headers)
    }

    func register(
        _ name: String, key: Ed25519.PrivateKey, signer: Ed25519.PrivateKey? = nil, namespace: String = namespace, now: Date = Date()
    ) async throws -> DirectoryAnswer {
        try await post(
            "/v1/directory/register", body: DirectoryHTTP.json(DirectoryAPI.NameRequest(namespace: namespace, name: name, identityKey: key.publicKey.b64)),
            signer: signer ?? key, now: now)
    }

    func lookup(_ name: String) async throws -> DirectoryAnswer {
        try await DirectoryHTTP.request("GET", url + "/v1/directory/names/\(name)")
    }

    /// Decodes and verifies a bundle from a name status, as a client would.
    func verifiedBundle(_ answer: DirectoryAnswer) throws -> AttestationBundle {
        let status = try answer.decode(DirectoryAPI.NameStatus.self)
        let bundle = try AttestationBundle(decoding: try Base64URL.decode(status.bundle ?? "", limit: AttestationBundle.maximumByteCount))
        try bundle.verify(directory: verifier, now: Date())
        return bundle
    }
}

struct DirectoryAnswer {
    let status: Int
    let body: [UInt8]

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body)) }
    var errorCode: String? { (try? decode(ServiceAPI.ErrorBody.self))?.code }
}

enum DirectoryHTTP {
    static func request(_ method: String, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> DirectoryAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1024 * 1024)
        return DirectoryAnswer(status: Int(response.status.code), body: Array(bytes.readableBytesView))
    }

    static func json(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try! encoder.encode(value))
    }
}

extension Ed25519.PublicKey {
    var b64: String { Base64URL.encode(rawRepresentation) }
}
