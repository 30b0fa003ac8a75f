import Foundation
import Hummingbird
import Logging
import NIOCore
import ProtonCore
import ServiceLifecycle

/// The sending service: a durable outbox that forwards sealed envelopes to receiving services
/// without learning the address (docs/api.md).
public enum SendingService {
    /// Opens the outbox (`PostgresSendingStorage` if the configuration names a database, else
    /// `SQLiteSendingStorage` in the data directory), starts the service (and, unless the
    /// policy disables it, the forwarder, which first resumes every queued message) and returns
    /// once it listens. With `handlesSignals`, SIGINT/SIGTERM stop it gracefully.
    public static func start(configuration: SendingServiceConfiguration, handlesSignals: Bool = false) async throws -> RunningService {
        let storage: any SendingStorage =
            if let database = configuration.database {
                try await PostgresSendingStorage.open(
                    database, claimLease: configuration.forwarding.claimLease, logger: configuration.logger)
            } else {
                try SQLiteSendingStorage(directory: configuration.dataDirectory)
            }
        return try await start(configuration: configuration, storage: storage, handlesSignals: handlesSignals)
    }

    public static func start(
        configuration: SendingServiceConfiguration, storage: any SendingStorage, handlesSignals: Bool = false
    ) async throws -> RunningService {
        let targets = DeliveryTargets(policy: configuration.forwarding, now: configuration.now)
        let metrics = metrics(storage)
        return try await RunningService.launch(
            host: configuration.listen.host, handlesSignals: handlesSignals, logger: configuration.logger,
            admin: configuration.adminListen.map { AdminListener(listen: $0, metrics: metrics, ready: { await storage.isReady() }) },
            cleanup: {
                await targets.shutdown()
                await storage.close()
            }
        ) { onServerRunning in
            [makeApplication(configuration: configuration, storage: storage, targets: targets, metrics: metrics, onServerRunning: onServerRunning)]
        }
    }

    /// The sending service's metrics: requests, storage errors, forwarding, and the outbox's
    /// depth read when scraped (what became of messages is `proton_forwarding_results_total`:
    /// counting the status rows would read a week of them at every scrape).
    static func metrics(_ storage: any SendingStorage) -> ServiceMetrics {
        ServiceMetrics(service: "sending") {
            [("outbox_queued", "Messages accepted and not yet delivered or failed.", try await storage.queuedCount())]
        }
    }

    /// The Hummingbird application, forwarder included, for callers that run it themselves;
    /// `targets` holds the forwarder's HTTP clients and must be shut down after it.
    public static func makeApplication(
        configuration: SendingServiceConfiguration, storage: any SendingStorage, targets: DeliveryTargets, metrics: ServiceMetrics? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let metrics = metrics ?? Self.metrics(storage)
        let forwarder =
            configuration.forwarding.isEnabled
            ? Forwarder(
                storage: storage, targets: targets, policy: configuration.forwarding, logger: configuration.logger, now: configuration.now,
                metrics: metrics)
            : nil
        let outbox = Outbox(storage: storage, forwarder: forwarder, now: configuration.now)
        let router = Router(context: ClientRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware(logger: configuration.logger))
        let watch = DatabaseWatch(directory: configuration.dataDirectory)
        router.add(middleware: DatabaseWatchMiddleware(watch: watch, logger: configuration.logger))
        addRoutes(
            to: router, outbox: outbox, bodyLimit: configuration.maximumBodyByteCount,
            limiter: ClientRateLimiter(configuration.sendRateLimit), now: configuration.now)
        let now = configuration.now
        let retention = configuration.statusRetention
        let purge = PeriodicTask(interval: configuration.purgeInterval, logger: configuration.logger) {
            _ = try await storage.purgeSettled(before: now().addingTimeInterval(-retention))
        }
        let background: [any Service] = [purge, DatabaseWatchService(watch: watch, logger: configuration.logger)] + (forwarder.map { [ForwarderService(forwarder: $0)] } ?? [])
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: "proton-sending"),
            services: background, onServerRunning: onServerRunning,
            logger: configuration.logger)
    }

    /// Thin handlers: read the request, call the outbox, write its answer.
    private static func addRoutes(
        to router: Router<ClientRequestContext>, outbox: Outbox, bodyLimit: Int, limiter: ClientRateLimiter,
        now: @escaping @Sendable () -> Date
    ) {
        router.post("/v1/send") { request, context in
            guard limiter.allow(context.clientNetwork, now: now()) else {
                throw ServiceError(
                    .tooManyRequests, code: "rate_limited",
                    "Too many sends from this client: at most \(Int(limiter.limit.perSecond)) a second after a burst of \(Int(limiter.limit.burst)).")
            }
            var request = request
            return try await JSONResponse.make(outbox.send(request.collectBytes(limit: bodyLimit)), status: .accepted)
        }
        router.get("/v1/send/:id") { _, context in
            try await JSONResponse.make(outbox.status(context.parameters.get("id") ?? ""), status: .ok)
        }
    }
}
