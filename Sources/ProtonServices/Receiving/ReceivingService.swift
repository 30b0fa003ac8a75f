import Foundation
import Hummingbird
import Logging
import NIOCore
import ProtonCore
import ProtonCrypto
import ServiceLifecycle

/// The receiving service: holds ciphertexts per address until the owner fetches them (docs/api.md).
public enum ReceivingService {
    /// The Hummingbird application, for callers that run it themselves. `start` is the usual
    /// way in: it also releases long-polls at once on shutdown and closes the storage.
    public static func makeApplication(
        configuration: ReceivingServiceConfiguration, storage: any ReceivingStorage,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        makeParts(
            configuration: configuration, storage: storage, serviceKey: try ServiceKeyFile.loadOrCreate(in: configuration.dataDirectory),
            metrics: metrics(storage), onServerRunning: onServerRunning
        ).application
    }

    /// Opens the storage (`PostgresReceivingStorage` if the configuration names a database,
    /// else `SQLiteReceivingStorage` in the data directory), starts the service and returns once
    /// it listens. With `handlesSignals`, SIGINT/SIGTERM stop it gracefully.
    public static func start(configuration: ReceivingServiceConfiguration, handlesSignals: Bool = false) async throws -> RunningService {
        let storage: any ReceivingStorage =
            if let database = configuration.database {
                try await PostgresReceivingStorage.open(database, logger: configuration.logger)
            } else {
                try SQLiteReceivingStorage(directory: configuration.dataDirectory)
            }
        return try await start(configuration: configuration, storage: storage, handlesSignals: handlesSignals)
    }

    public static func start(
        configuration: ReceivingServiceConfiguration, storage: any ReceivingStorage, handlesSignals: Bool = false
    ) async throws -> RunningService {
        let serviceKey: SealedBox.PrivateKey
        do {
            serviceKey = try ServiceKeyFile.loadOrCreate(in: configuration.dataDirectory)
            try await storage.adoptServiceKey(serviceKey.publicKey.rawRepresentation)
        } catch {
            await storage.close()
            throw error
        }
        let metrics = metrics(storage)
        return try await RunningService.launch(
            host: configuration.listen.host, handlesSignals: handlesSignals, logger: configuration.logger,
            admin: configuration.adminListen.map { AdminListener(listen: $0, metrics: metrics, ready: { await storage.isReady() }) },
            cleanup: { await storage.close() }
        ) { onServerRunning in
            let parts = makeParts(
                configuration: configuration, storage: storage, serviceKey: serviceKey, metrics: metrics, onServerRunning: onServerRunning)
            return [parts.application, ShutdownHook { await parts.notifier.shutDown() }]
        }
    }

    /// The receiving service's metrics: requests, storage errors, and the queue read when scraped.
    static func metrics(_ storage: any ReceivingStorage) -> ServiceMetrics {
        ServiceMetrics(service: "receiving") {
            let counts = try await storage.depths()
            return [
                ("queued_messages", "Messages held for their owners.", counts.messages),
                ("addresses", "Addresses registered, retired ones included.", counts.addresses),
                ("retired_addresses", "Retired addresses (kept as tombstones).", counts.retiredAddresses),
            ]
        }
    }

    private static func makeParts(
        configuration: ReceivingServiceConfiguration, storage: any ReceivingStorage, serviceKey: SealedBox.PrivateKey, metrics: ServiceMetrics,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void
    ) -> (application: Application<RouterResponder<BasicRequestContext>>, notifier: DeliveryNotifier) {
        let notifier = DeliveryNotifier()
        let operations = ReceivingOperations(
            storage: storage, serviceKey: serviceKey, limits: configuration.limits,
            notifier: notifier, now: configuration.now, logger: configuration.logger, onLongPollWaiting: configuration.onLongPollWaiting)
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware(logger: configuration.logger))
        let watch = DatabaseWatch(directory: configuration.dataDirectory)
        router.add(middleware: DatabaseWatchMiddleware(watch: watch, logger: configuration.logger))
        addRoutes(to: router, operations: operations)

        let limits = configuration.limits
        let now = configuration.now
        let sweep = PeriodicTask(interval: configuration.sweepInterval, logger: configuration.logger) {
            let current = now()
            _ = try await storage.sweep(messagesBefore: current.addingTimeInterval(-limits.messageLifetime), now: current)
        }
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: "proton-receiving"),
            services: [sweep, DatabaseWatchService(watch: watch, logger: configuration.logger), DeliveryListener(storage: storage, notifier: notifier)],
            onServerRunning: onServerRunning, logger: configuration.logger)
        return (application, notifier)
    }

    /// Wakes this instance's long-polls for messages that other instances stored.
    private struct DeliveryListener: Service {
        let storage: any ReceivingStorage
        let notifier: DeliveryNotifier

        func run() async throws {
            try await cancelWhenGracefulShutdown { try await storage.deliveries { await notifier.notify($0) } }
            // Storage that shares nothing returns at once; a service that returns would end the
            // whole group, so this one waits for the shutdown like the others.
            try? await gracefulShutdown()
        }
    }

    /// Thin handlers: read the request, call the operation, write its answer.
    private static func addRoutes(to router: Router<BasicRequestContext>, operations: ReceivingOperations) {
        let bodyLimit = operations.limits.maximumBodyByteCount
        let bodyTimeout = operations.limits.bodyTimeout

        router.get("/v1/info") { _, _ in
            try JSONResponse.make(operations.info(), status: .ok)
        }
        router.post("/v1/addresses") { request, _ in
            try await operations.createAddress(signedRequest(request, bodyLimit: bodyLimit))
            return Response(status: .created)
        }
        router.post("/v1/deliver") { request, _ in
            var request = request
            // 200 for a replay of an envelope already held: nothing changed, and a sender that
            // resent it (not knowing the first copy arrived) is told it was delivered.
            let stored = try await operations.deliver(request.collectBytes(limit: bodyLimit, timeout: bodyTimeout))
            return Response(status: stored ? .accepted : .ok)
        }
        router.post("/v1/deliver/batch") { request, _ in
            var request = request
            return try await JSONResponse.make(
                operations.deliverBatch(request.collectBytes(limit: ServiceAPI.maximumBatchBodyByteCount, timeout: bodyTimeout)), status: .ok)
        }
        router.get("/v1/addresses/:address/messages") { request, context in
            let messages = try await operations.messages(
                context.parameters.get("address") ?? "", after: query(request, "after") ?? 0,
                wait: TimeInterval(query(request, "wait") ?? 0), request: signedRequest(request, bodyLimit: bodyLimit))
            return try JSONResponse.make(messages, status: .ok)
        }
        router.post("/v1/addresses/:address/ack") { request, context in
            try await operations.acknowledge(context.parameters.get("address") ?? "", request: signedRequest(request, bodyLimit: bodyLimit))
            return Response(status: .noContent)
        }
        router.delete("/v1/addresses/:address") { request, context in
            try await operations.retire(context.parameters.get("address") ?? "", request: signedRequest(request, bodyLimit: bodyLimit))
            return Response(status: .noContent)
        }
    }

    private static func signedRequest(_ request: Request, bodyLimit: Int) async throws -> SignedRequest {
        var request = request
        return SignedRequest(request, body: try await request.collectBytes(limit: bodyLimit))
    }

    /// A non-negative integer query parameter; nil when absent.
    private static func query(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw ServiceError.badQuery("The query parameter \(name) must be a non-negative integer.")
        }
        return value
    }
}
