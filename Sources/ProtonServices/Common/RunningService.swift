import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A service started in-process: bound, answering, and stoppable. Tests and embedders start
/// real servers on loopback port 0 through `ReceivingService.start` and `SendingService.start`
/// and read the port the kernel chose from here.
public final class RunningService: Sendable {
    public let host: String
    public let port: Int
    public var baseURL: String { "http://\(host):\(port)" }
    /// The operator's listener (`/metrics`, `/health`, `/ready`), if the service has one.
    public let adminPort: Int?

    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let cleanup: @Sendable () async -> Void
    /// Whether `stop()` or `wait()` has run the cleanup.
    private let stopped = Mutex(false)

    private init(
        host: String, port: Int, adminPort: Int?, group: ServiceGroup, task: Task<Void, any Error>, cleanup: @escaping @Sendable () async -> Void
    ) {
        self.host = host
        self.port = port
        self.adminPort = adminPort
        self.group = group
        self.task = task
        self.cleanup = cleanup
    }

    /// A service released without `stop()` — say by a test that failed before reaching it —
    /// still shuts down and closes what it holds: an HTTP client released unclosed is a fatal
    /// error, and would take the whole process down with it.
    deinit {
        guard !stopped.withLock({ $0 }) else { return }
        let group = self.group
        let task = self.task
        let cleanup = self.cleanup
        Task {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            await cleanup()
        }
    }

    /// Runs `makeServices`' services in a service group, with the operator's listener when
    /// `admin` is given, and returns once the server is bound (and the operator's listener).
    /// `makeServices` receives the closure to hand to Hummingbird's `onServerRunning`. With
    /// `handlesSignals`, SIGINT and SIGTERM shut the group down gracefully.
    static func launch(
        host: String, handlesSignals: Bool, logger: Logger, admin: AdminListener? = nil, cleanup: @escaping @Sendable () async -> Void,
        makeServices: (_ onServerRunning: @escaping @Sendable (any Channel) async -> Void) throws -> [any Service]
    ) async throws -> RunningService {
        enum Event { case bound(Int), adminBound(Int), failed(any Error) }
        // Run once, whoever asks first (`stop()` twice, `stop()` and `wait()`, or `deinit`):
        // closing a database again would checkpoint a closed pool.
        let cleanup = RunOnce(cleanup).run
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        var services: [any Service]
        do {
            services = try makeServices { channel in continuation.yield(.bound(channel.localAddress?.port ?? 0)) }
            if let admin {
                services.append(
                    AdminEndpoint.makeApplication(
                        listen: admin.listen, metrics: admin.metrics, ready: admin.ready, logger: logger,
                        onServerRunning: { channel in continuation.yield(.adminBound(channel.localAddress?.port ?? 0)) }))
            }
        } catch {
            await cleanup()
            throw error
        }
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: handlesSignals ? [.sigterm, .sigint] : [], logger: logger)
        let task = Task {
            defer { continuation.finish() }
            do {
                try await group.run()
                continuation.yield(.failed(ServiceStartError.stoppedBeforeListening))
            } catch {
                continuation.yield(.failed(error))
                throw error
            }
        }
        var port: Int?
        var adminPort: Int?
        for await event in events {
            switch event {
            case .bound(let bound): port = bound
            case .adminBound(let bound): adminPort = bound
            case .failed(let error):
                await cleanup()
                throw error
            }
            if let port, admin == nil || adminPort != nil {
                return RunningService(host: host, port: port, adminPort: adminPort, group: group, task: task, cleanup: cleanup)
            }
        }
        await cleanup()
        throw ServiceStartError.stoppedBeforeListening
    }

    /// Stops accepting connections, lets requests in flight finish (long-polls return at once),
    /// stops background work, and closes storage.
    public func stop() async {
        stopped.withLock { $0 = true }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await cleanup()
    }

    /// Waits until the service stops (after a signal, or `stop()` from elsewhere), then closes
    /// storage. Throws what stopped it, if it failed.
    public func wait() async throws {
        stopped.withLock { $0 = true }
        do { try await task.value } catch {
            await cleanup()
            throw error
        }
        await cleanup()
    }
}

/// Calls `body` the first time `run` is called, and never again; every call returns once that
/// one run has finished (a `stop()` that returns while `wait()` still closes the database
/// would let a restart open it half closed).
private final class RunOnce: Sendable {
    private let body: @Sendable () async -> Void
    private let running = Mutex<Task<Void, Never>?>(nil)

    init(_ body: @escaping @Sendable () async -> Void) {
        self.body = body
    }

    @Sendable func run() async {
        let body = self.body
        let task = running.withLock { running in
            if let running { return running }
            let started = Task { await body() }
            running = started
            return started
        }
        await task.value
    }
}

public enum ServiceStartError: Error, CustomStringConvertible {
    case stoppedBeforeListening

    public var description: String { "The service stopped before it started listening." }
}

/// A service's operator listener (`--admin-listen`): where it listens, the metrics it serves,
/// and whether the service is ready (its storage answers).
struct AdminListener: Sendable {
    let listen: ListenAddress
    let metrics: ServiceMetrics
    let ready: @Sendable () async -> Bool
}
