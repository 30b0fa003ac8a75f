import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// The attesting directory (docs/api.md, "Directory"): binds `name@namespace` to identity keys
/// after a proof of possession, logs every statement in an RFC 9162 transparency log, and
/// serves attestation bundles, signed checkpoints and proofs.
public enum DirectoryService {
    /// Opens the registry in the data directory, starts the service and returns once it
    /// listens. With `handlesSignals`, SIGINT/SIGTERM stop it gracefully.
    public static func start(configuration: DirectoryServiceConfiguration, handlesSignals: Bool = false) async throws -> RunningService {
        let registry = try await DirectoryRegistry.open(
            dataDirectory: configuration.dataDirectory, namespace: configuration.namespace, database: configuration.database,
            attestationLifetime: configuration.attestationLifetime, now: configuration.now(), logger: configuration.logger)
        let broker: DirectoryBroker?
        do {
            broker = configuration.brokered
                ? try await DirectoryBroker.open(dataDirectory: configuration.dataDirectory, registry: registry, limits: configuration.brokerLimits)
                : nil
        } catch {
            registry.close()
            throw error
        }
        let metrics = metrics(registry)
        return try await RunningService.launch(
            host: configuration.listen.host, handlesSignals: handlesSignals, logger: configuration.logger,
            admin: configuration.adminListen.map { AdminListener(listen: $0, metrics: metrics, ready: { (try? await registry.signedCheckpoint()) != nil }) },
            cleanup: {
                broker?.close()
                registry.close()
            }
        ) { onServerRunning in
            [try makeApplication(configuration: configuration, registry: registry, broker: broker, metrics: metrics, onServerRunning: onServerRunning)]
        }
    }

    /// The directory's metrics: requests, storage errors, and the log's size and the operator's
    /// queue read when scraped.
    static func metrics(_ registry: DirectoryRegistry) -> ServiceMetrics {
        ServiceMetrics(service: "directory") {
            [
                ("log_leaves", "Statements in the transparency log.", Int(clamping: try await registry.signedCheckpoint().checkpoint.size)),
                ("pending_registrations", "Registrations waiting for the operator (approve policy).", try await registry.pending().count),
            ]
        }
    }

    public static func makeApplication(
        configuration: DirectoryServiceConfiguration, registry: DirectoryRegistry, broker: DirectoryBroker? = nil, metrics: ServiceMetrics? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router()
        if let metrics { router.add(middleware: MetricsMiddleware(metrics: metrics)) }
        router.add(middleware: ErrorMiddleware(logger: configuration.logger))
        let watch = DatabaseWatch(directory: configuration.dataDirectory)
        router.add(middleware: DatabaseWatchMiddleware(watch: watch, logger: configuration.logger))
        let witnesses =
            configuration.witnesses.isEmpty
            ? nil
            : DirectoryWitnesses(
                endpoints: configuration.witnesses, quorum: max(1, min(configuration.witnessQuorum, configuration.witnesses.count)), registry: registry,
                client: HTTPClient.shared, logger: configuration.logger)
        let handlers = DirectoryHandlers(
            registry: registry, policy: configuration.policy, brokered: broker != nil, witnesses: witnesses, now: configuration.now,
            logger: configuration.logger)
        handlers.addRoutes(to: router)
        if let broker { BrokerHandlers(directory: handlers, broker: broker).addRoutes(to: router) }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: "proton-directory"),
            services: [DatabaseWatchService(watch: watch, logger: configuration.logger)], onServerRunning: onServerRunning, logger: configuration.logger)
    }
}

/// Thin handlers: parse and check the request, call the registry, write its answer.
struct DirectoryHandlers: Sendable {
    let registry: DirectoryRegistry
    let policy: DirectoryPolicy
    var brokered = false
    var witnesses: DirectoryWitnesses? = nil
    let now: @Sendable () -> Date
    let logger: Logger

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/directory/info") { _, _ in
            try JSONResponse.make(
                DirectoryAPI.Info(
                    namespace: registry.namespace, origin: registry.origin, verifierKey: registry.verifier.verifierKey,
                    policy: policy.rawValue, attestationLifetimeSeconds: Int(registry.attestationLifetime), brokered: brokered),
                status: .ok)
        }
        router.post("/v1/directory/register") { request, _ in
            let (body, signed) = try await read(request, as: DirectoryAPI.NameRequest.self)
            let name = try checkNamespaceAndName(body.namespace, body.name)
            let key = try identityKey(body.identityKey, field: "identityKey")
            try await verifyPossession(signed, key: key)
            let outcome = try await refusing { try await registry.register(name: name, identityKey: key, policy: policy, now: now()) }
            switch outcome {
            case .pending:
                logger.info("registration pending approval", metadata: ["name": "\(name)"])
                return try JSONResponse.make(
                    DirectoryAPI.NameStatus(state: .pending, name: name, namespace: registry.namespace, identityKey: body.identityKey),
                    status: .accepted)
            case .logged(let binding):
                logger.info("name attested", metadata: ["name": "\(name)", "index": "\(binding.logIndex)"])
                return try JSONResponse.make(try await status(binding), status: .created)
            case .unchanged(let binding):
                return try JSONResponse.make(try await status(binding), status: .ok)
            }
        }
        router.post("/v1/directory/revoke") { request, _ in
            let (body, signed) = try await read(request, as: DirectoryAPI.NameRequest.self)
            let name = try checkNamespaceAndName(body.namespace, body.name)
            let key = try identityKey(body.identityKey, field: "identityKey")
            try await verifyPossession(signed, key: key)
            let binding = try await refusing { try await registry.revoke(name: name, identityKey: key, now: now()) }
            logger.info("name revoked", metadata: ["name": "\(name)", "index": "\(binding.logIndex)"])
            return try JSONResponse.make(
                DirectoryAPI.NameStatus(
                    state: .revoked, name: name, namespace: registry.namespace, identityKey: body.identityKey, logIndex: binding.logIndex),
                status: .ok)
        }
        router.post("/v1/directory/change-key") { request, _ in
            let (body, signed) = try await read(request, as: DirectoryAPI.KeyChangeRequest.self)
            let name = try checkNamespaceAndName(body.namespace, body.name)
            let oldKey = try identityKey(body.identityKey, field: "identityKey")
            let newKey = try identityKey(body.newIdentityKey, field: "newIdentityKey")
            try await verifyPossession(signed, key: oldKey, newKey: newKey)
            let binding = try await refusing { try await registry.changeKey(name: name, from: oldKey, to: newKey, now: now()) }
            logger.info("key changed", metadata: ["name": "\(name)", "index": "\(binding.logIndex)"])
            return try JSONResponse.make(try await status(binding), status: .created)
        }
        router.get("/v1/directory/names/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard DirectoryNames.isValidName(name) else { throw refusal(.invalidName(String(name.prefix(80)))) }
            guard let binding = try await registry.binding(name) else { throw refusal(.notRegistered(name)) }
            guard !binding.revoked else {
                throw ServiceError(.gone, code: "revoked", "The name \(name) was revoked (log index \(binding.logIndex)).")
            }
            return try JSONResponse.make(try await status(binding), status: .ok)
        }
        router.get("/v1/log/checkpoint") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: try await currentCheckpoint().serialized)))
        }
        router.get("/v1/log/inclusion") { request, _ in
            let index = try query(request, "index")
            let size = try query(request, "size")
            let proof = try await logRequest { try await registry.storage.inclusionProof(index: index, size: size) }
            return try JSONResponse.make(DirectoryAPI.Proof(from: index, size: size, hashes: proof.hashes.map(Base64URL.encode)), status: .ok)
        }
        router.get("/v1/log/consistency") { request, _ in
            let from = try query(request, "from")
            let to = try query(request, "to")
            let proof = try await logRequest { try await registry.storage.consistencyProof(from: from, to: to) }
            return try JSONResponse.make(DirectoryAPI.Proof(from: from, size: to, hashes: proof.hashes.map(Base64URL.encode)), status: .ok)
        }
        router.get("/v1/log/leaves/:index") { _, context in
            guard let text = context.parameters.get("index"), let index = UInt64(text) else {
                throw ServiceError.badQuery("The leaf index must be a non-negative integer.")
            }
            let leaf = try await logRequest { try await registry.storage.leaf(at: index) }
            return try JSONResponse.make(DirectoryAPI.Leaf(index: index, leaf: Base64URL.encode(leaf)), status: .ok)
        }
    }

    // MARK: - Requests

    func read<T: Decodable>(_ request: Request, as type: T.Type, limit: Int = DirectoryAPI.maximumBodyByteCount) async throws -> (
        T, SignedRequest
    ) {
        var request = request
        let bytes = try await request.collectBytes(limit: limit)
        let body = try JSONBody.decode(T.self, from: bytes, what: String(describing: T.self))
        return (body, SignedRequest(request, body: bytes))
    }

    func checkNamespaceAndName(_ namespace: String, _ name: String) throws -> String {
        guard namespace == registry.namespace else {
            throw refusal(.wrongNamespace(expected: registry.namespace, actual: String(namespace.prefix(260))))
        }
        guard DirectoryNames.isValidName(name) else { throw refusal(.invalidName(String(name.prefix(80)))) }
        return name
    }

    func identityKey(_ text: String, field: String) throws -> Ed25519.PublicKey {
        let tooLong = ServiceError(.badRequest, code: "bad_key", "The field \(field) is not a 32-byte Ed25519 key.")
        let bytes = try JSONBody.bytes(text, field: field, limit: Ed25519.publicKeyByteCount, tooLong: tooLong)
        guard bytes.count == Ed25519.publicKeyByteCount, let key = try? Ed25519.PublicKey(rawRepresentation: bytes) else { throw tooLong }
        return key
    }

    /// Proof of possession: the request (whose body names the namespace, the name and the key)
    /// is signed by the key being bound, is fresh, and was never seen before. With `newKey`,
    /// the new key must have signed the same bytes too.
    func verifyPossession(_ request: SignedRequest, key: Ed25519.PublicKey, newKey: Ed25519.PublicKey? = nil) async throws {
        let verifier = RequestVerifier(
            wording: .init(clock: "directory", signature: "The proof of possession", wrongKey: "The request is not signed by the identity key it names."),
            now: now, recordNonce: { [registry, now] nonce, expires in try await registry.recordNonce(nonce, expires: expires, now: now()) })
        try await verifier.verify(request, key: key, alsoSignedBy: newKey.map { (DirectoryAPI.newKeySignatureHeader, $0) })
    }

    private func status(_ binding: DirectoryRegistry.Binding) async throws -> DirectoryAPI.NameStatus {
        let bundle = try await registry.bundle(for: binding, in: try await cosignedCheckpoint(atLeast: binding.logIndex + 1))
        return DirectoryAPI.NameStatus(
            state: .attested, name: binding.name, namespace: registry.namespace,
            identityKey: Base64URL.encode(binding.identityKey.rawRepresentation), logIndex: binding.logIndex,
            bundle: Base64URL.encode(bundle.encoded()))
    }

    /// With witnesses, the newest checkpoint a quorum cosigned that holds `size` leaves (nil:
    /// no witnesses, a freshly signed one will do); 503 `witnesses_unavailable` without one.
    func cosignedCheckpoint(atLeast size: UInt64) async throws -> SignedCheckpoint? {
        guard let witnesses else { return nil }
        do { return try await witnesses.checkpoint(atLeast: size) } catch {
            throw ServiceError(
                .serviceUnavailable, code: "witnesses_unavailable",
                "The witnesses did not cosign a checkpoint of this log holding the entry; try again shortly.")
        }
    }

    private func query(_ request: Request, _ name: String) throws -> UInt64 {
        guard let text = request.uri.queryParameters[Substring(name)] else {
            throw ServiceError.badQuery("The query parameter \(name) is required.")
        }
        guard text.count <= 20, let value = UInt64(text), value <= UInt64(Int64.max) else {
            throw ServiceError.badQuery("The query parameter \(name) must be a non-negative integer.")
        }
        return value
    }

    func refusing<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as DirectoryRefusal { throw refusal(error) }
    }

    /// The checkpoint `/v1/log/checkpoint` serves: the newest cosigned one with witnesses, else a
    /// freshly signed one.
    private func currentCheckpoint() async throws -> SignedCheckpoint {
        if let cosigned = try await cosignedCheckpoint(atLeast: 0) { return cosigned }
        return try await registry.signedCheckpoint()
    }

    private func logRequest<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as TransparencyLogError {
            switch error {
            case .indexOutOfRange, .sizeBeyondLog, .sizesOutOfOrder:
                throw ServiceError(.badRequest, code: "bad_range", "\(error)".sentenceCased)
            default:
                throw error
            }
        }
    }

    func refusal(_ error: DirectoryRefusal) -> ServiceError {
        let message = error.description.sentenceCased
        return switch error {
        case .invalidName: ServiceError(.badRequest, code: "invalid_name", message)
        case .wrongNamespace: ServiceError(.badRequest, code: "wrong_namespace", message)
        case .sameKey: ServiceError(.badRequest, code: "same_key", message)
        case .nameTaken: ServiceError(.conflict, code: "name_taken", message)
        case .notAllowed: ServiceError(.forbidden, code: "not_allowed", message)
        case .notOwner: ServiceError(.forbidden, code: "not_owner", message)
        case .notRegistered: ServiceError(.notFound, code: "not_registered", message)
        case .noPendingRegistration: ServiceError(.notFound, code: "not_pending", message)
        case .tooManyPending: ServiceError(.serviceUnavailable, code: "queue_full", message)
        }
    }
}

extension String {
    /// Capitalised and ending in a full stop.
    var sentenceCased: String {
        guard let first else { return self }
        let text = first.uppercased() + dropFirst()
        return text.hasSuffix(".") ? text : text + "."
    }
}
