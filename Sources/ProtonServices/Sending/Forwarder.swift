import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProtonCore
import ServiceLifecycle

/// Forwards queued messages to their receiving services: on start every queued row (so a
/// crash between accepting and forwarding is recovered), then each new one as it is accepted,
/// and retries after a backoff. A 2xx settles the message as delivered, a 4xx as failed (the
/// answer is final: e.g. 410, the address is retired), anything else is retried until the
/// policy's attempts run out. Logs carry the send id and the outcome, never the blobs.
actor Forwarder {
    private let storage: any SendingStorage
    private let client: HTTPClient
    private let policy: ForwardingPolicy
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let signal = WakeSignal()
    private var inFlight: Set<String> = []

    init(storage: any SendingStorage, client: HTTPClient, policy: ForwardingPolicy, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.storage = storage
        self.client = client
        self.policy = policy
        self.logger = logger
        self.now = now
    }

    /// Something was queued: look again at once.
    nonisolated func wake() { signal.wake() }

    func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let delay: TimeInterval
                do {
                    let free = policy.concurrency - inFlight.count
                    if free > 0 {
                        for entry in try await storage.dueEntries(now: now(), excluding: inFlight, limit: free) {
                            inFlight.insert(entry.id)
                            group.addTask { await self.forward(entry) }
                        }
                    }
                    let next = try await storage.nextAttemptTime(excluding: inFlight)
                    delay = next.map { $0.timeIntervalSince(now()) } ?? 60
                } catch {
                    // Stopping the service cancels a read in progress: that is no failure.
                    if Task.isCancelled || error is CancellationError { break }
                    logger.error("outbox read failed", metadata: ["error": "\(type(of: error))"])
                    delay = 1
                }
                if delay > 0 || inFlight.count >= policy.concurrency { await signal.wait(timeout: min(max(delay, 0.001), 60)) }
            }
        }
    }

    private func forward(_ entry: OutboxEntry) async {
        defer {
            inFlight.remove(entry.id)
            signal.wake()
        }
        let attempts = entry.attempts + 1
        let outcome = await Self.attempt(entry, client: client, timeout: policy.requestTimeout)
        if Task.isCancelled { return }
        do {
            switch outcome {
            case .delivered:
                try await storage.recordDelivered(entry.id, attempts: attempts, now: now())
                logger.debug("delivered", metadata: ["send": "\(entry.id)", "attempts": "\(attempts)"])
            case .refused(let status, let reason):
                try await storage.recordFailed(entry.id, attempts: attempts, httpStatus: status, error: reason, now: now())
                logger.info("refused by the receiving service", metadata: ["send": "\(entry.id)", "status": "\(status)"])
            case .unavailable(let status, let reason) where attempts >= policy.maximumAttempts:
                try await storage.recordFailed(
                    entry.id, attempts: attempts, httpStatus: status, error: "Gave up after \(attempts) attempts: \(reason)", now: now())
                logger.warning("gave up", metadata: ["send": "\(entry.id)", "attempts": "\(attempts)"])
            case .unavailable(let status, let reason):
                let next = now().addingTimeInterval(policy.backoff(afterAttempts: attempts))
                try await storage.recordRetry(entry.id, attempts: attempts, nextAttempt: next, httpStatus: status, error: reason)
                logger.debug("will retry", metadata: ["send": "\(entry.id)", "attempts": "\(attempts)"])
            }
        } catch {
            logger.error("outbox update failed", metadata: ["send": "\(entry.id)", "error": "\(type(of: error))"])
        }
    }

    enum Outcome: Sendable {
        case delivered
        case refused(status: Int, reason: String)
        case unavailable(status: Int?, reason: String)
    }

    /// One POST of the delivery.
    private static func attempt(_ entry: OutboxEntry, client: HTTPClient, timeout: TimeInterval) async -> Outcome {
        let delivery = ServiceAPI.Delivery(sealedAddress: Base64URL.encode(entry.sealedAddress), ciphertext: Base64URL.encode(entry.ciphertext))
        var request = HTTPClientRequest(url: deliverURL(entry.receivingService))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        do {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(delivery)))
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            switch status {
            case 200..<300:
                return .delivered
            case 400..<500:
                let reason = (try? JSONDecoder().decode(ServiceAPI.ErrorBody.self, from: Data(body.readableBytesView)))?.error
                return .refused(status: status, reason: reason ?? "The receiving service refused the message (HTTP \(status)).")
            default:
                return .unavailable(status: status, reason: "The receiving service answered HTTP \(status).")
            }
        } catch {
            return .unavailable(status: nil, reason: "The receiving service could not be reached.")
        }
    }

    static func deliverURL(_ receivingService: String) -> String {
        var base = receivingService
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/deliver"
    }
}

/// Runs the forwarder until graceful shutdown; messages in flight stay queued for next time.
struct ForwarderService: Service {
    let forwarder: Forwarder

    func run() async throws {
        await cancelWhenGracefulShutdown { await forwarder.run() }
    }
}
