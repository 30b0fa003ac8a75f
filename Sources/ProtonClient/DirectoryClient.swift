import AsyncHTTPClient
import Foundation
import NIOCore
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonHTTP

/// A client of one attesting directory. It checks nothing about trust by itself: callers verify
/// what it returns against the key they pinned (`AttestationBundle.verify`, `SignedCheckpoint`,
/// `Audit.check`); `DirectoryTrust` and `Profile`'s directory steps do.
public struct DirectoryClient: Sendable {
    public let baseURL: String
    private let client: HTTPClient
    private let timeout: TimeInterval

    public init(baseURL: String, client: HTTPClient = .shared, timeout: TimeInterval = 30) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.client = client
        self.timeout = timeout
    }

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Unreachable, or a 5xx.
        case unavailable(String)
        /// A 4xx with the service's error code and sentence.
        case refused(status: Int, code: String, message: String)
        /// A body that is not what the API promises.
        case invalidResponse(String)

        public var description: String {
            switch self {
            case .unavailable(let reason): "the directory is unavailable: \(reason)"
            case .refused(let status, _, let message): "the directory refused the request (HTTP \(status)): \(message)"
            case .invalidResponse(let reason): "the directory answered with \(reason)"
            }
        }
    }

    public func info() async throws(Failure) -> DirectoryAPI.Info {
        try await decode(DirectoryAPI.Info.self, perform("GET", "/v1/directory/info"))
    }

    /// The newest checkpoint's signed note, unverified.
    public func checkpoint() async throws(Failure) -> String {
        let body = try await perform("GET", "/v1/log/checkpoint").body
        guard let text = String(validating: body, as: UTF8.self) else { throw .invalidResponse("a checkpoint that is not UTF-8") }
        return text
    }

    public func consistencyProof(from: UInt64, to: UInt64) async throws(Failure) -> [[UInt8]] {
        try await hashes(decode(DirectoryAPI.Proof.self, perform("GET", "/v1/log/consistency?from=\(from)&to=\(to)")))
    }

    /// The leaf at `index`, unverified (the monitor checks every leaf against a signed root).
    public func leaf(at index: UInt64) async throws(Failure) -> [UInt8] {
        let answer = try await decode(DirectoryAPI.Leaf.self, perform("GET", "/v1/log/leaves/\(index)"))
        guard answer.index == index, let bytes = try? Base64URL.decode(answer.leaf, limit: TransparencyLogLimits.maximumLeafByteCount) else {
            throw .invalidResponse("a leaf that is not the one asked for or not base64url")
        }
        return bytes
    }

    public func inclusionProof(index: UInt64, size: UInt64) async throws(Failure) -> [[UInt8]] {
        try await hashes(decode(DirectoryAPI.Proof.self, perform("GET", "/v1/log/inclusion?index=\(index)&size=\(size)")))
    }

    /// The current status of `name`; a revoked name is `.revoked` (HTTP 410), not an error.
    public func lookup(_ name: String) async throws(Failure) -> DirectoryAPI.NameStatus {
        guard DirectoryNames.isValidName(name) else { throw .refused(status: 400, code: "invalid_name", message: "\(name) is not a valid name") }
        do {
            return try await decode(DirectoryAPI.NameStatus.self, perform("GET", "/v1/directory/names/\(name)"))
        } catch .refused(410, "revoked", _) {
            return DirectoryAPI.NameStatus(state: .revoked, name: name, namespace: "")
        }
    }

    /// Registers `name` for the persona whose key signs the request (the proof of possession).
    public func register(name: String, namespace: String, key: Ed25519.PrivateKey, now: Date = Date()) async throws(Failure) -> (
        status: Int, DirectoryAPI.NameStatus
    ) {
        let body = Self.encode(DirectoryAPI.NameRequest(namespace: namespace, name: name, identityKey: Base64URL.encode(key.publicKey.rawRepresentation)))
        let response = try await signed("/v1/directory/register", body: body, key: key, now: now)
        return (response.status, try decode(DirectoryAPI.NameStatus.self, response))
    }

    public func revoke(name: String, namespace: String, key: Ed25519.PrivateKey, now: Date = Date()) async throws(Failure) -> DirectoryAPI.NameStatus {
        let body = Self.encode(DirectoryAPI.NameRequest(namespace: namespace, name: name, identityKey: Base64URL.encode(key.publicKey.rawRepresentation)))
        return try await decode(DirectoryAPI.NameStatus.self, signed("/v1/directory/revoke", body: body, key: key, now: now))
    }

    public func changeKey(name: String, namespace: String, from old: Ed25519.PrivateKey, to new: Ed25519.PrivateKey, now: Date = Date())
        async throws(Failure) -> DirectoryAPI.NameStatus
    {
        let body = Self.encode(
            DirectoryAPI.KeyChangeRequest(
                namespace: namespace, name: name, identityKey: Base64URL.encode(old.publicKey.rawRepresentation),
                newIdentityKey: Base64URL.encode(new.publicKey.rawRepresentation)))
        return try await decode(DirectoryAPI.NameStatus.self, signed("/v1/directory/change-key", body: body, key: old, also: new, now: now))
    }

    // MARK: - Brokered directory

    /// Publishes a key package for `name`, signed by the package's identity key.
    public func publish(name: String, package: KeyPackage, rule: BrokerAPI.ContactRule, trustedDirectories: [String] = [], key: Ed25519.PrivateKey, now: Date = Date())
        async throws(Failure) -> BrokerAPI.Published
    {
        let body = Self.encode(BrokerAPI.Publish(keyPackage: Base64URL.encode(package.encoded()), rule: rule, trustedDirectories: trustedDirectories))
        return try await decode(BrokerAPI.Published.self, signed("/v1/broker/names/\(name)/key-package", body: body, key: key, now: now))
    }

    /// Asks for `name`'s key package as the holder of `key`. A 202 (waiting for the owner's
    /// approval) comes back as a result with a `requestID` and no package.
    public func fetchKeyPackage(name: String, key: Ed25519.PrivateKey, attestation: AttestationBundle? = nil, now: Date = Date())
        async throws(Failure) -> BrokerAPI.FetchResult
    {
        let body = Self.encode(
            BrokerAPI.Fetch(requesterKey: Base64URL.encode(key.publicKey.rawRepresentation), attestation: attestation.map { Base64URL.encode($0.encoded()) }))
        return try await decode(BrokerAPI.FetchResult.self, signed("/v1/broker/names/\(name)/fetch", body: body, key: key, now: now))
    }

    public func contactRequests(name: String, key: Ed25519.PrivateKey, now: Date = Date()) async throws(Failure) -> [BrokerAPI.ContactRequest] {
        try await decode(BrokerAPI.ContactRequests.self, signed("/v1/broker/names/\(name)/requests", body: Array("{}".utf8), key: key, now: now)).requests
    }

    public func decide(name: String, requestID: String, approve: Bool, key: Ed25519.PrivateKey, now: Date = Date()) async throws(Failure) {
        _ = try await signed("/v1/broker/names/\(name)/requests/\(requestID)/\(approve ? "approve" : "deny")", body: Array("{}".utf8), key: key, now: now)
    }

    // MARK: - Plumbing

    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    /// A request signed by `key` (and `also`, for a key change) over the path this client sends.
    private func signed(_ path: String, body: [UInt8], key: Ed25519.PrivateKey, also: Ed25519.PrivateKey? = nil, now: Date) async throws(Failure)
        -> Response
    {
        let signedPath = ServiceHTTP.join(baseURL, path).signedPath
        let signature = RequestSignature.sign(method: "POST", pathAndQuery: signedPath, body: body, key: key, now: now, random: SystemRandom())
        var headers = signature.headers
        if let also {
            let second = signature.countersignature(by: also, method: "POST", pathAndQuery: signedPath, body: body)
            headers.append((DirectoryAPI.newKeySignatureHeader, Base64URL.encode(second)))
        }
        return try await perform("POST", path, body: body, headers: headers)
    }

    /// One request; a non-2xx answer becomes `Failure`.
    public func perform(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws(Failure)
        -> Response
    {
        let response: Response
        do {
            let answer = try await ServiceHTTP.perform(
                .init(rawValue: method), baseURL + path, body: body, headers: headers.map { (name: $0.0, value: $0.1) }, client: client,
                timeout: timeout, bodyLimit: 256 * 1024)
            response = Response(status: answer.status, body: answer.body)
        } catch {
            throw .unavailable(error.description)
        }
        guard (200..<300).contains(response.status) else {
            let error = try? JSONDecoder().decode(ServiceAPI.ErrorBody.self, from: Data(response.body))
            if response.status >= 500 { throw .unavailable(error?.error ?? "HTTP status \(response.status)") }
            // The directory's own words: one line, at most 200 characters, whatever it sent.
            let message = (error?.error).map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(200))) }
                .map { $0.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ") }
            throw .refused(status: response.status, code: String((error?.code ?? "").prefix(40)), message: message ?? "HTTP status \(response.status)")
        }
        return response
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: Response) throws(Failure) -> T {
        do { return try JSONDecoder().decode(type, from: Data(response.body)) } catch {
            throw .invalidResponse("a body that is not a valid \(type)")
        }
    }

    private func hashes(_ proof: DirectoryAPI.Proof) throws(Failure) -> [[UInt8]] {
        guard proof.hashes.count <= Merkle.maximumProofLength else { throw .invalidResponse("a proof of too many hashes") }
        var result = [[UInt8]]()
        for hash in proof.hashes {
            guard let bytes = try? Base64URL.decode(hash, limit: Merkle.hashByteCount), bytes.count == Merkle.hashByteCount else {
                throw .invalidResponse("a proof hash that is not 32 bytes of base64url")
            }
            result.append(bytes)
        }
        return result
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        (try? Array(JSONEncoder().encode(value))) ?? []
    }
}
