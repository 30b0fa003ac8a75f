import AsyncHTTPClient
import ProtonHTTP
import Foundation
import Logging
import NIOCore
import ProtonCore
import ServiceLifecycle
import Synchronization

/// Forwards queued messages to their receiving services: on start every queued row (so a
/// crash between accepting and forwarding is recovered), then each new one as it is accepted,
/// and retries after a backoff. Messages due for the same receiving service (and service key)
/// travel together, up to the policy's batch size, in one `POST /v1/deliver/batch` (one
/// `POST /v1/deliver` for a lone message, or for every message to a service that has no batch
/// endpoint); while the policy's requests are in flight, newly accepted messages gather for the
/// next one. One receiving service holds at most `requestsPerTarget` of the requests (all but
/// one), so one that answers slowly cannot hold up deliveries to the others. Every request goes
/// through `DeliveryTargets`, which checks where it may go. Each
/// message then settles on its own classified outcome: delivered, gone and refused are final,
/// full and unreachable are retried until the policy's attempts run out. Logs carry the send id
/// and the outcome, never the blobs, and no text of the target's reaches a client.
actor Forwarder {
    /// The outcome of one attempt, as clients see it.
    typealias Outcome = ServiceAPI.SendStatus.Outcome

    private let storage: any SendingStorage
    private let targets: DeliveryTargets
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

    private let metrics: ServiceMetrics?

    init(
        storage: any SendingStorage, targets: DeliveryTargets, policy: ForwardingPolicy, logger: Logger, now: @escaping @Sendable () -> Date,
        metrics: ServiceMetrics? = nil
    ) {
        self.metrics = metrics
        self.storage = storage
        self.targets = targets
        self.policy = policy
        self.logger = logger
        self.now = now
    }

    /// Requests in flight per target (receiving service and key), and messages accepted for a
    /// target while it had one: shared with `accepted`, which the send handler calls from
    /// outside the actor.
    private struct Gate {
        var busy: [ForwardingTarget: Int] = [:]
        var held: [ForwardingTarget: Int] = [:]
    }
    private let gate = Mutex(Gate())

    /// A message for this receiving service and key was queued. While a request to that target
    /// is in flight, the forwarder is woken only once a full batch has gathered: the request's
    /// end wakes it anyway, and what gathered meanwhile then goes in one request instead of a
    /// request each (under load, small requests to one target cost most of a message's
    /// forwarding). A target with nothing in flight is woken for at once.
    nonisolated func accepted(receivingService: String, serviceKey: [UInt8]) {
        let target = ForwardingTarget(receivingService: receivingService, serviceKey: serviceKey)
        let batchSize = policy.batchSize
        let wake = gate.withLock { gate -> Bool in
            guard gate.busy[target, default: 0] > 0 else { return true }
            let held = gate.held[target, default: 0] + 1
            gate.held[target] = held < batchSize ? held : 0
            return held >= batchSize
        }
        if wake { signal.wake() }
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let delay: TimeInterval
                do {
                    let free = policy.concurrency - requestsInFlight
                    var held = false
                    if free > 0 {
                        // Room for a partial batch per busy target besides the free requests'.
                        // A target with all the requests it may have is not read: the oldest
                        // due messages may all be its, and the others' would never be reached.
                        var busy = gate.withLock { $0.busy }
                        let full = Set(busy.filter { $0.value >= policy.requestsPerTarget }.keys)
                        if !full.isEmpty { held = true }
                        let due = try await storage.dueEntries(
                            now: now(), excluding: inFlight, excludingTargets: full, limit: (free + busy.count) * policy.batchSize)
                        var started = 0
                        var unstarted: [String] = []
                        for (batch, partial) in Self.batches(of: due, size: policy.batchSize) {
                            let target = batch[0].target
                            // A partial batch waits while its target has a request in flight:
                            // that request's end wakes this loop, with more gathered by then.
                            // A batch cut by size is full however few messages it holds.
                            let waits = partial && busy[target, default: 0] > 0
                            let targetFull = busy[target, default: 0] >= policy.requestsPerTarget
                            if waits || targetFull { held = true }
                            guard started < free, !waits, !targetFull else {
                                unstarted += batch.map(\.id)
                                continue
                            }
                            started += 1
                            busy[target, default: 0] += 1
                            requestsInFlight += 1
                            inFlight.formUnion(batch.map(\.id))
                            gate.withLock {
                                $0.busy[target, default: 0] += 1
                                $0.held[target] = nil
                            }
                            group.addTask { await self.forward(batch, to: target) }
                        }
                        // Taken but not started (more targets than free requests, or waiting
                        // for their target): given back at once, so that no instance waits for
                        // a lease to send them.
                        if !unstarted.isEmpty { try await storage.release(unstarted) }
                    }
                    // With every request in flight nothing can start before one ends, and each
                    // one's end wakes this loop: the outbox is not read meanwhile (a due message
                    // would otherwise make the loop read it again every millisecond). What waits
                    // for a busy target is due but must not be read again until a request ends
                    // either; the second is a safety net.
                    if requestsInFlight >= policy.concurrency {
                        delay = 60
                    } else if held {
                        delay = 1
                    } else {
                        delay = try await storage.nextAttemptTime(now: now(), excluding: inFlight).map { $0.timeIntervalSince(now()) } ?? 60
                    }
                } catch {
                    // Stopping the service cancels a read in progress: that is no failure.
                    if Task.isCancelled || error is CancellationError { break }
                    logger.error("outbox read failed", metadata: ["error": "\(type(of: error))"])
                    delay = 1
                }
                if delay > 0 { await signal.wait(timeout: min(delay, 60)) }
            }
        }
    }

    /// Due entries grouped by receiving service and key (oldest first), each group cut into
    /// requests of at most `size` messages and `ServiceAPI.maximumBatchBodyByteCount` bytes.
    /// `partial`: the group's last request, with room for more messages (one cut because the
    /// next message would not fit, in count or in bytes, is not partial).
    static func batches(of entries: [OutboxEntry], size: Int) -> [(batch: [OutboxEntry], partial: Bool)] {
        var order: [ForwardingTarget] = []
        var byTarget: [ForwardingTarget: [OutboxEntry]] = [:]
        for entry in entries {
            let target = entry.target
            if byTarget[target] == nil { order.append(target) }
            byTarget[target, default: []].append(entry)
        }
        var batches: [(batch: [OutboxEntry], partial: Bool)] = []
        for target in order {
            var current: [OutboxEntry] = []
            var bytes = 64
            for entry in byTarget[target] ?? [] {
                let entryBytes = (entry.sealedAddress.count + entry.ciphertext.count) * 4 / 3 + 64
                if !current.isEmpty, current.count >= size || bytes + entryBytes > ServiceAPI.maximumBatchBodyByteCount {
                    batches.append((current, false))
                    current = []
                    bytes = 64
                }
                current.append(entry)
                bytes += entryBytes
            }
            if !current.isEmpty { batches.append((current, current.count < size)) }
        }
        return batches
    }

    /// One request's worth of messages to one receiving service, then each one's result
    /// recorded (the records share a transaction: see `GroupCommit`).
    private func forward(_ batch: [OutboxEntry], to gateTarget: ForwardingTarget) async {
        defer {
            requestsInFlight -= 1
            inFlight.subtract(batch.map(\.id))
            gate.withLock { gate in
                let busy = gate.busy[gateTarget, default: 1] - 1
                gate.busy[gateTarget] = busy > 0 ? busy : nil
                if busy <= 0 { gate.held[gateTarget] = nil }
            }
            signal.wake()
        }
        let results: [ForwardingResult]
        if let target = TargetURI.parsed(batch[0].receivingService), batch[0].serviceKey.count == 32 {
            switch await targets.prepare(target, serviceKey: batch[0].serviceKey) {
            case .ready(let connection):
                let started = ContinuousClock.now
                let outcomes = await attempt(batch, to: target, client: connection.client)
                metrics?.forwardingRequest(.now - started)
                await targets.finished(connection, target: target, reachable: !outcomes.contains(.unreachable))
                if Task.isCancelled { return }
                results = zip(batch, outcomes).map { result(of: $1, for: $0, retryAt: nil) }
            case .deferred(let until):
                results = batch.map { ForwardingResult(id: $0.id, attempts: $0.attempts, settlement: .deferred(until: until)) }
            case .refused(let reason):
                results = batch.map { ForwardingResult(id: $0.id, attempts: $0.attempts + 1, settlement: .failed(.refused, error: reason)) }
            case .unreachable(_, let retryAt):
                results = batch.map { result(of: .unreachable, for: $0, retryAt: retryAt) }
            }
        } else {
            // Queued before the service key was required, or a receiving service the outbox
            // would no longer accept: there is no safe way to deliver it.
            results = batch.map {
                ForwardingResult(
                    id: $0.id, attempts: $0.attempts + 1,
                    settlement: .failed(.refused, error: "The message names no receiving service this sending service can check."))
            }
        }
        if Task.isCancelled { return }
        do {
            try await storage.record(results, now: now())
        } catch {
            logger.error("outbox update failed", metadata: ["sends": "\(batch.count)", "error": "\(type(of: error))"])
            return
        }
        if let metrics {
            let current = now()
            for (entry, result) in zip(batch, results) {
                if case .delivered = result.settlement, let queuedAt = entry.queuedAt { metrics.delivered(after: current.timeIntervalSince(queuedAt)) }
            }
            var outcomes: [String: Int] = [:]
            for result in results {
                let name =
                    switch result.settlement {
                    case .delivered: "delivered"
                    case .failed(let outcome, _), .retry(_, let outcome, _): outcome.rawValue
                    case .deferred: "deferred"
                    }
                outcomes[name, default: 0] += 1
            }
            for (outcome, count) in outcomes { metrics.forwarded(outcome: outcome, count: count) }
        }
        for result in results {
            switch result.settlement {
            case .delivered:
                logger.debug("delivered", metadata: ["send": "\(result.id)", "attempts": "\(result.attempts)"])
            case .failed(let outcome, _):
                logger.info("failed", metadata: ["send": "\(result.id)", "outcome": "\(outcome.rawValue)", "attempts": "\(result.attempts)"])
            case .retry(_, let outcome, _):
                logger.debug("will retry", metadata: ["send": "\(result.id)", "outcome": "\(outcome.rawValue)", "attempts": "\(result.attempts)"])
            case .deferred:
                logger.debug("target backing off", metadata: ["send": "\(result.id)"])
            }
        }
    }

    /// The batch endpoint first (unless the service lacks it), else one request per message.
    private func attempt(_ batch: [OutboxEntry], to target: TargetURI, client: HTTPClient) async -> [Outcome] {
        if batch.count > 1, !withoutBatchEndpoint.contains(target.base) {
            if let outcomes = await Self.attemptBatch(batch, to: target, client: client, timeout: policy.requestTimeout) {
                return outcomes
            }
            if withoutBatchEndpoint.count >= DeliveryTargets.maximumRemembered { withoutBatchEndpoint.removeAll() }
            withoutBatchEndpoint.insert(target.base)
            logger.info("the receiving service has no batch endpoint; forwarding one by one")
        }
        return await Self.attemptEach(batch, to: target, client: client, timeout: policy.requestTimeout)
    }

    /// What one attempt's outcome makes of the message. `retryAt`: not before then.
    private func result(of outcome: Outcome, for entry: OutboxEntry, retryAt: Date?) -> ForwardingResult {
        let attempts = entry.attempts + 1
        switch outcome {
        case .delivered:
            return ForwardingResult(id: entry.id, attempts: attempts, settlement: .delivered)
        case .gone, .refused:
            return ForwardingResult(id: entry.id, attempts: attempts, settlement: .failed(outcome, error: outcome.sentence))
        case .full, .unreachable:
            if attempts >= policy.maximumAttempts {
                return ForwardingResult(
                    id: entry.id, attempts: attempts, settlement: .failed(outcome, error: "Gave up after \(attempts) attempts: \(outcome.sentence)"))
            }
            let backoff = now().addingTimeInterval(policy.backoff(afterAttempts: attempts))
            return ForwardingResult(
                id: entry.id, attempts: attempts, settlement: .retry(nextAttempt: max(backoff, retryAt ?? backoff), outcome, error: outcome.sentence))
        }
    }

    /// Each message in its own `POST /v1/deliver`, all at once.
    private static func attemptEach(_ entries: [OutboxEntry], to target: TargetURI, client: HTTPClient, timeout: TimeInterval) async -> [Outcome] {
        await withTaskGroup(of: (Int, Outcome).self) { group in
            for (index, entry) in entries.enumerated() {
                group.addTask {
                    let delivery = ServiceAPI.Delivery(
                        sealedAddress: Base64URL.encode(entry.sealedAddress), ciphertext: Base64URL.encode(entry.ciphertext))
                    guard let (status, _) = try? await post(delivery, to: target.base + "/v1/deliver", client: client, timeout: timeout)
                    else { return (index, .unreachable) }
                    return (index, Outcome(status: status))
                }
            }
            var outcomes = [Outcome](repeating: .unreachable, count: entries.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    /// One POST of the whole batch: each message's outcome, or nil if the receiving service has
    /// no batch endpoint (404 or 405). A refusal of the batch as a whole (another 4xx: it should
    /// not happen, as the batch is within the documented bounds) is retried one by one, so that
    /// each message gets an answer of its own.
    private static func attemptBatch(_ entries: [OutboxEntry], to target: TargetURI, client: HTTPClient, timeout: TimeInterval) async
        -> [Outcome]?
    {
        let batch = ServiceAPI.DeliveryBatch(
            deliveries: entries.map {
                ServiceAPI.Delivery(sealedAddress: Base64URL.encode($0.sealedAddress), ciphertext: Base64URL.encode($0.ciphertext))
            })
        guard let (status, body) = try? await post(batch, to: target.base + "/v1/deliver/batch", client: client, timeout: timeout) else {
            return [Outcome](repeating: .unreachable, count: entries.count)
        }
        switch status {
        case 200..<300:
            guard let answer = try? JSONDecoder().decode(ServiceAPI.DeliveryBatchResults.self, from: Data(body)),
                answer.results.count == entries.count
            else { return [Outcome](repeating: .unreachable, count: entries.count) }
            return answer.results.map { Outcome(status: $0.status) }
        case 404, 405:
            return nil
        case 400..<500:
            return await attemptEach(entries, to: target, client: client, timeout: timeout)
        default:
            return [Outcome](repeating: Outcome(status: status), count: entries.count)
        }
    }

    /// One POST, bounded by `timeout` from connecting to the answer's last byte.
    private static func post(_ value: some Encodable, to url: String, client: HTTPClient, timeout: TimeInterval) async throws
        -> (status: Int, body: [UInt8])
    {
        let response = try await ServiceHTTP.perform(
            .POST, url, body: try ServiceJSON.encode(value), client: client, timeout: timeout, bodyLimit: 1 << 20)
        return (response.status, response.body)
    }
}

extension ServiceAPI.SendStatus.Outcome {
    /// One attempt's outcome, classified from the receiving service's status alone.
    init(status: Int) {
        switch status {
        case 200..<300: self = .delivered
        case 410: self = .gone
        case 507: self = .full
        case 300..<500: self = .refused
        default: self = .unreachable
        }
    }

    /// The sending service's own words: never the target's.
    var sentence: String {
        switch self {
        case .delivered: "Delivered."
        case .gone: "The address is retired."
        case .full: "The address's mailbox at the receiving service is full."
        case .refused: "The receiving service refused the message."
        case .unreachable: "The receiving service could not be reached or failed."
        }
    }
}

/// Runs the forwarder until graceful shutdown; messages in flight stay queued for next time.
struct ForwarderService: Service {
    let forwarder: Forwarder

    func run() async throws {
        await cancelWhenGracefulShutdown { await forwarder.run() }
    }
}
