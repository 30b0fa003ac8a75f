import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProtonCore
import ServiceLifecycle

/// Forwards queued messages to their receiving services: on start every queued row (so a
/// crash between accepting and forwarding is recovered), then each new one as it is accepted,
/// and retries after a backoff. Messages due for the same receiving service travel together,
/// up to the policy's batch size, in one `POST /v1/deliver/batch` (one `POST /v1/deliver` for a
/// lone message, or for every message to a service that has no batch endpoint); while the
/// policy's requests are in flight, newly accepted messages gather for the next one. Each
/// message then settles on its own result: a 2xx as delivered, a 4xx as failed (the answer is
/// final: e.g. 410, the address is retired), anything else is retried until the policy's
/// attempts run out. Logs carry the send id and the outcome, never the blobs.
actor Forwarder {
    private let storage: any SendingStorage
    private let client: HTTPClient
    private let policy: ForwardingPolicy
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let signal = WakeSignal()
    /// Messages being forwarded, so that the next read of the outbox leaves them out.
    private var inFlight: Set<String> = []
    private var requestsInFlight = 0
    /// Receiving services that answered the batch endpoint with 404 or 405 (an older version):
    /// their messages go one by one.
    private var withoutBatchEndpoint: Set<String> = []

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
                    let free = policy.concurrency - requestsInFlight
                    if free > 0 {
                        let due = try await storage.dueEntries(now: now(), excluding: inFlight, limit: free * policy.batchSize)
                        for batch in Self.batches(of: due, size: policy.batchSize).prefix(free) {
                            requestsInFlight += 1
                            inFlight.formUnion(batch.map(\.id))
                            group.addTask { await self.forward(batch) }
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
                if delay > 0 || requestsInFlight >= policy.concurrency { await signal.wait(timeout: min(max(delay, 0.001), 60)) }
            }
        }
    }

    /// Due entries grouped by receiving service (oldest service first), each group cut into
    /// requests of at most `size` messages and `ServiceAPI.maximumBatchBodyByteCount` bytes.
    static func batches(of entries: [OutboxEntry], size: Int) -> [[OutboxEntry]] {
        var order: [String] = []
        var byService: [String: [OutboxEntry]] = [:]
        for entry in entries {
            if byService[entry.receivingService] == nil { order.append(entry.receivingService) }
            byService[entry.receivingService, default: []].append(entry)
        }
        var batches: [[OutboxEntry]] = []
        for service in order {
            var current: [OutboxEntry] = []
            var bytes = 64
            for entry in byService[service] ?? [] {
                let entryBytes = (entry.sealedAddress.count + entry.ciphertext.count) * 4 / 3 + 64
                if !current.isEmpty, current.count >= size || bytes + entryBytes > ServiceAPI.maximumBatchBodyByteCount {
                    batches.append(current)
                    current = []
                    bytes = 64
                }
                current.append(entry)
                bytes += entryBytes
            }
            if !current.isEmpty { batches.append(current) }
        }
        return batches
    }

    /// One request's worth of messages to one receiving service, then each one's result
    /// recorded (the records share a transaction: see `GroupCommit`).
    private func forward(_ batch: [OutboxEntry]) async {
        defer {
            requestsInFlight -= 1
            inFlight.subtract(batch.map(\.id))
            signal.wake()
        }
        let service = batch[0].receivingService
        var outcomes: [Outcome]?
        if batch.count > 1, !withoutBatchEndpoint.contains(service) {
            outcomes = await Self.attemptBatch(batch, client: client, timeout: policy.requestTimeout)
            if outcomes == nil {
                withoutBatchEndpoint.insert(service)
                logger.info("the receiving service has no batch endpoint; forwarding one by one")
            }
        }
        let results: [Outcome]
        if let outcomes { results = outcomes } else { results = await Self.attemptEach(batch, client: client, timeout: policy.requestTimeout) }
        if Task.isCancelled { return }
        let current = now()
        let recorded = zip(batch, results).map { entry, outcome in result(of: outcome, for: entry, now: current) }
        do {
            try await storage.record(recorded, now: current)
        } catch {
            logger.error("outbox update failed", metadata: ["sends": "\(batch.count)", "error": "\(type(of: error))"])
            return
        }
        for (entry, outcome) in zip(batch, results) {
            let attempts = entry.attempts + 1
            switch outcome {
            case .delivered:
                logger.debug("delivered", metadata: ["send": "\(entry.id)", "attempts": "\(attempts)"])
            case .refused(let status, _):
                logger.info("refused by the receiving service", metadata: ["send": "\(entry.id)", "status": "\(status)"])
            case .unavailable where attempts >= policy.maximumAttempts:
                logger.warning("gave up", metadata: ["send": "\(entry.id)", "attempts": "\(attempts)"])
            case .unavailable:
                logger.debug("will retry", metadata: ["send": "\(entry.id)", "attempts": "\(attempts)"])
            }
        }
    }

    /// What one attempt's outcome makes of the message.
    private func result(of outcome: Outcome, for entry: OutboxEntry, now: Date) -> ForwardingResult {
        let attempts = entry.attempts + 1
        switch outcome {
        case .delivered:
            return ForwardingResult(id: entry.id, attempts: attempts, settlement: .delivered)
        case .refused(let status, let reason):
            return ForwardingResult(id: entry.id, attempts: attempts, settlement: .failed(httpStatus: status, error: reason))
        case .unavailable(let status, let reason) where attempts >= policy.maximumAttempts:
            return ForwardingResult(
                id: entry.id, attempts: attempts, settlement: .failed(httpStatus: status, error: "Gave up after \(attempts) attempts: \(reason)"))
        case .unavailable(let status, let reason):
            return ForwardingResult(
                id: entry.id, attempts: attempts,
                settlement: .retry(nextAttempt: now.addingTimeInterval(policy.backoff(afterAttempts: attempts)), httpStatus: status, error: reason))
        }
    }

    enum Outcome: Sendable, Equatable {
        case delivered
        case refused(status: Int, reason: String)
        case unavailable(status: Int?, reason: String)

        /// What a receiving service's status (and error sentence, if any) means for a message.
        init(status: Int, reason: String?) {
            switch status {
            case 200..<300: self = .delivered
            case 400..<500: self = .refused(status: status, reason: reason ?? "The receiving service refused the message (HTTP \(status)).")
            default: self = .unavailable(status: status, reason: "The receiving service answered HTTP \(status).")
            }
        }
    }

    /// Each message in its own `POST /v1/deliver`, all at once.
    private static func attemptEach(_ entries: [OutboxEntry], client: HTTPClient, timeout: TimeInterval) async -> [Outcome] {
        await withTaskGroup(of: (Int, Outcome).self) { group in
            for (index, entry) in entries.enumerated() {
                group.addTask { (index, await attempt(entry, client: client, timeout: timeout)) }
            }
            var outcomes = [Outcome](repeating: .unavailable(status: nil, reason: ""), count: entries.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    /// One POST of the delivery.
    private static func attempt(_ entry: OutboxEntry, client: HTTPClient, timeout: TimeInterval) async -> Outcome {
        let delivery = ServiceAPI.Delivery(sealedAddress: Base64URL.encode(entry.sealedAddress), ciphertext: Base64URL.encode(entry.ciphertext))
        do {
            let (status, body) = try await post(delivery, to: deliverURL(entry.receivingService), client: client, timeout: timeout)
            let reason = (try? JSONDecoder().decode(ServiceAPI.ErrorBody.self, from: Data(body.readableBytesView)))?.error
            return Outcome(status: status, reason: reason)
        } catch {
            return .unavailable(status: nil, reason: "The receiving service could not be reached.")
        }
    }

    /// One POST of the whole batch: each message's outcome, or nil if the receiving service has
    /// no batch endpoint (404 or 405). A refusal of the batch as a whole (another 4xx: it should
    /// not happen, as the batch is within the documented bounds) is retried one by one, so that
    /// each message gets an answer of its own.
    private static func attemptBatch(_ entries: [OutboxEntry], client: HTTPClient, timeout: TimeInterval) async -> [Outcome]? {
        let batch = ServiceAPI.DeliveryBatch(
            deliveries: entries.map {
                ServiceAPI.Delivery(sealedAddress: Base64URL.encode($0.sealedAddress), ciphertext: Base64URL.encode($0.ciphertext))
            })
        let unreachable = [Outcome](repeating: .unavailable(status: nil, reason: "The receiving service could not be reached."), count: entries.count)
        do {
            let (status, body) = try await post(batch, to: deliverBatchURL(entries[0].receivingService), client: client, timeout: timeout)
            switch status {
            case 200..<300:
                guard let answer = try? JSONDecoder().decode(ServiceAPI.DeliveryBatchResults.self, from: Data(body.readableBytesView)),
                    answer.results.count == entries.count
                else {
                    return [Outcome](
                        repeating: .unavailable(status: status, reason: "The receiving service's batch answer was malformed."), count: entries.count)
                }
                return answer.results.map { Outcome(status: $0.status, reason: $0.error) }
            case 404, 405:
                return nil
            case 400..<500:
                return await attemptEach(entries, client: client, timeout: timeout)
            default:
                return [Outcome](repeating: Outcome(status: status, reason: nil), count: entries.count)
            }
        } catch {
            return unreachable
        }
    }

    private static func post(_ value: some Encodable, to url: String, client: HTTPClient, timeout: TimeInterval) async throws
        -> (status: Int, body: ByteBuffer)
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(value)))
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), body)
    }

    static func deliverURL(_ receivingService: String) -> String {
        base(receivingService) + "/v1/deliver"
    }

    static func deliverBatchURL(_ receivingService: String) -> String {
        base(receivingService) + "/v1/deliver/batch"
    }

    private static func base(_ receivingService: String) -> String {
        var base = receivingService
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}

/// Runs the forwarder until graceful shutdown; messages in flight stay queued for next time.
struct ForwarderService: Service {
    let forwarder: Forwarder

    func run() async throws {
        await cancelWhenGracefulShutdown { await forwarder.run() }
    }
}
