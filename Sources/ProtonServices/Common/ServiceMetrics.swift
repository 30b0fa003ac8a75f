import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// What a service tells its operator, in Prometheus's text format on the operator's own
/// listener (`--admin-listen`, never the public port): request rates, storage errors, queue
/// depths, and for a sending service its forwarding outcomes and delivery latencies.
///
/// No label ever holds an address, a key, a send id, a receiving service's URI or a client's
/// IP: labels are the service kind, the route's pattern (`/v1/addresses/:address/messages`,
/// not the path), the method, the status, and an outcome from a fixed list.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let service: String
    let storageErrors: Counter
    /// When the depths last read were read.
    let depthsRead: Gauge
    /// Read from the storage when scraped: (metric name, help, value).
    let depths: @Sendable () async throws -> [(name: String, help: String, value: Int)]

    init(service: String, depths: @escaping @Sendable () async throws -> [(name: String, help: String, value: Int)]) {
        self.service = service
        self.depths = depths
        storageErrors = registry.makeCounter(
            descriptor: Self.name("storage_errors", "total", "Requests answered 503 because the database failed or could not be reached."),
            labels: [("service", service)])
        depthsRead = registry.makeGauge(
            descriptor: Self.name("depths_read_timestamp", "seconds", "When the queue depths shown were read (a scrape does not wait long for them)."),
            labels: [("service", service)])
    }

    /// A request's counter and its route's histogram, by route, method and status: looked up in
    /// the registry once per combination (a registry lookup builds and compares label arrays
    /// under a lock, a cost every request paid). Routes are patterns and methods and statuses
    /// few, so this stays small.
    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }
    private let requestMetrics = Mutex<[RequestKey: (requests: Counter, duration: DurationHistogram)]>([:])
    private static let knownMethods: Set<HTTPRequest.Method> = [.get, .post, .delete, .head, .put]

    /// One answered request.
    func request(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status, duration: Duration) {
        let key = RequestKey(route: route, method: Self.knownMethods.contains(method) ? method.rawValue : "OTHER", status: Int(status.code))
        let metrics = requestMetrics.withLock { cache in
            if let found = cache[key] { return found }
            let made = (
                requests: registry.makeCounter(
                    descriptor: Self.name("http_requests", "total", "HTTP requests answered, by route and status."),
                    labels: [("service", service), ("route", key.route), ("method", key.method), ("status", String(key.status))]),
                duration: registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "http_request_duration", "seconds", "Time from a request's head to its answer (a long-poll's wait included)."),
                    labels: [("service", service), ("route", key.route)], buckets: Self.buckets)
            )
            cache[key] = made
            return made
        }
        metrics.requests.increment()
        metrics.duration.record(duration)
    }

    /// One forwarding attempt's outcome (sending service).
    func forwarded(outcome: String, count: Int) {
        registry.makeCounter(
            descriptor: Self.name(
                "forwarding_results", "total", "Messages by the outcome of a forwarding attempt (deferred: not attempted, the target backing off)."),
            labels: [("service", service), ("outcome", outcome)]
        ).increment(by: Int64(count))
    }

    /// How long one forwarding request took (sending service).
    func forwardingRequest(_ duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.name("forwarding_request_duration", "seconds", "Time of one request to a receiving service, connecting included."),
            labels: [("service", service)], buckets: Self.buckets
        ).record(duration)
    }

    /// From acceptance to delivery (sending service).
    func delivered(after latency: TimeInterval) {
        registry.makeDurationHistogram(
            descriptor: Self.name("delivery_latency", "seconds", "Time from a message's 202 to its delivery at the receiving service."),
            labels: [("service", service)], buckets: Self.latencyBuckets
        ).record(.milliseconds(Int64(max(0, latency) * 1000)))
    }

    /// How long a scrape waits for the queue depths: well inside Prometheus's default scrape
    /// timeout (10 s), so that a slow database costs the scrape its depths, not the scrape.
    static let depthWait: Duration = .seconds(2)

    /// The depth read under way, if one is (one at a time, however many scrapes), and the
    /// scrapes waiting for it.
    private struct DepthRead {
        var running = false
        var waiting: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextWaiter = 0
    }
    private let depthRead = Mutex(DepthRead())

    /// The text of a scrape: queue depths read now (or, when the read takes longer than
    /// `depthWait`, those of the last read to finish, this one finishing after; the time of
    /// that read is `proton_depths_read_timestamp_seconds`), then everything recorded.
    func scrape() async -> [UInt8] {
        let (ended, signal) = AsyncStream.makeStream(of: Void.self)
        let (start, waiter) = depthRead.withLock { read -> (Bool, Int) in
            let waiter = read.nextWaiter
            read.nextWaiter += 1
            read.waiting[waiter] = signal
            defer { read.running = true }
            return (!read.running, waiter)
        }
        if start {
            Task {
                do {
                    for depth in try await self.depths() {
                        self.registry.makeGauge(descriptor: Self.name(depth.name, "", depth.help), labels: [("service", self.service)])
                            .set(to: Double(depth.value))
                    }
                    self.depthsRead.set(to: Date().timeIntervalSince1970)
                } catch {
                    self.storageErrors.increment()
                }
                let waiting = self.depthRead.withLock { read in
                    defer {
                        read.running = false
                        read.waiting = [:]
                    }
                    return Array(read.waiting.values)
                }
                for scrape in waiting { scrape.yield() }
            }
        }
        let timer = Task {
            try? await Task.sleep(for: Self.depthWait)
            signal.yield()
        }
        for await _ in ended { break }
        timer.cancel()
        depthRead.withLock { _ = $0.waiting.removeValue(forKey: waiter) }
        signal.finish()
        return registry.emitToBuffer()
    }

    /// `proton_NAME_UNIT`.
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "proton", metricName: name, unitName: unit, helpText: help)
    }

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5), .seconds(30),
    ]
    static let latencyBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(600), .seconds(3600),
    ]
}

/// Counts every request of the public listener by its route's pattern and its status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(
                route: context.endpointPath ?? "NotFound", method: request.method, status: response.status, duration: .now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            if status == .serviceUnavailable { metrics.storageErrors.increment() }
            metrics.request(route: context.endpointPath ?? "NotFound", method: request.method, status: status, duration: .now - started)
            throw error
        }
    }
}

/// The operator's listener: `GET /metrics`, `GET /health` (200 while the process serves) and
/// `GET /ready` (200 when the storage answers, else 503: a load balancer stops sending it
/// requests).
enum AdminEndpoint {
    static func makeApplication(
        listen: ListenAddress, metrics: ServiceMetrics, ready: @escaping @Sendable () async -> Bool, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void
    ) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: await metrics.scrape())))
        }
        router.get("/health") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/ready") { _, _ in
            await ready()
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "storage unavailable\n")))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "proton-admin"),
            onServerRunning: onServerRunning, logger: logger)
    }
}
