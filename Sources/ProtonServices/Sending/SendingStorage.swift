import Foundation
import ProtonCore

/// Where a sending service keeps its outbox. It holds, per message, only what forwarding needs:
/// the receiving service's URI, the sealed address (which this service cannot open) and the
/// ciphertext, and the service key the client expects there; both blobs are dropped once the message is delivered or has failed for good.
public protocol SendingStorage: Sendable {
    /// Commits `entry` as queued before returning.
    func enqueue(_ entry: OutboxEntry, now: Date) async throws

    func status(_ id: String) async throws -> ServiceAPI.SendStatus?

    /// Queued entries whose next attempt is due, oldest first, leaving out `excluding` (those
    /// this instance is forwarding) and every entry for one of `excludingTargets` (receiving
    /// services that have as many requests in flight as they may). Where instances share the
    /// storage, the entries returned are claimed for this one until their results are recorded
    /// (or a lease ends).
    func dueEntries(now: Date, excluding: Set<String>, excludingTargets: Set<ForwardingTarget>, limit: Int) async throws -> [OutboxEntry]

    /// Gives back entries `dueEntries` returned that this instance will not forward now, so that
    /// any instance may take them at once.
    func release(_ ids: [String]) async throws

    /// When the earliest queued entry outside `excluding` is due (or, shared, when another
    /// instance's claim on one ends); nil if none is queued.
    func nextAttemptTime(now: Date, excluding: Set<String>) async throws -> Date?

    /// Records the results of one forwarding request together, in one transaction.
    func record(_ results: [ForwardingResult], now: Date) async throws

    /// Deletes the status rows of messages that settled before `before`; returns how many.
    func purgeSettled(before: Date) async throws -> Int

    /// Every row by state (tests, the operator's tools): reads the whole outbox, status rows
    /// kept for their retention included.
    func counts() async throws -> SendingStorageCounts

    /// The messages queued (`/metrics`): read along the queued rows' index, so it costs what
    /// the queue holds, not what a week of status rows does.
    func queuedCount() async throws -> Int

    /// Whether the storage answers (`/ready`): a query that costs nothing however large the
    /// outbox (counting it may take longer than a statement may run).
    func isReady() async -> Bool

    func close() async
}

extension SendingStorage {
    public func dueEntries(now: Date, excluding: Set<String>, limit: Int) async throws -> [OutboxEntry] {
        try await dueEntries(now: now, excluding: excluding, excludingTargets: [], limit: limit)
    }
}

/// Where messages go together: a receiving service and the key its clients sealed to. The
/// forwarder groups requests, and bounds those in flight, by it.
public struct ForwardingTarget: Hashable, Sendable {
    public var receivingService: String
    public var serviceKey: [UInt8]

    public init(receivingService: String, serviceKey: [UInt8]) {
        self.receivingService = receivingService
        self.serviceKey = serviceKey
    }
}

/// What became of one attempt to forward a message.
public struct ForwardingResult: Sendable, Equatable {
    public enum Settlement: Sendable, Equatable {
        case delivered
        /// Final: refused or gone, or the attempts ran out.
        case failed(ServiceAPI.SendStatus.Outcome, error: String)
        case retry(nextAttempt: Date, ServiceAPI.SendStatus.Outcome, error: String)
        /// Not attempted (its target is backing off): wait until `until`; `attempts` unchanged.
        case deferred(until: Date)
    }

    public var id: String
    /// Attempts made so far, this one included (unchanged for a deferral).
    public var attempts: Int
    public var settlement: Settlement

    public init(id: String, attempts: Int, settlement: Settlement) {
        self.id = id
        self.attempts = attempts
        self.settlement = settlement
    }
}

/// One message waiting to be forwarded.
public struct OutboxEntry: Sendable, Equatable {
    public var id: String
    /// The receiving service's origin (`TargetURI.base`).
    public var receivingService: String
    /// The X25519 key the client sealed the address to (32 bytes).
    public var serviceKey: [UInt8]
    public var sealedAddress: [UInt8]
    public var ciphertext: [UInt8]
    /// Attempts made so far.
    public var attempts: Int
    /// When the service accepted it (read back from the outbox; nil for an entry being queued).
    public var queuedAt: Date?

    public var target: ForwardingTarget { ForwardingTarget(receivingService: receivingService, serviceKey: serviceKey) }

    public init(
        id: String, receivingService: String, serviceKey: [UInt8], sealedAddress: [UInt8], ciphertext: [UInt8], attempts: Int = 0,
        queuedAt: Date? = nil
    ) {
        self.queuedAt = queuedAt
        self.id = id
        self.receivingService = receivingService
        self.serviceKey = serviceKey
        self.sealedAddress = sealedAddress
        self.ciphertext = ciphertext
        self.attempts = attempts
    }
}

extension SendingStorage {
    /// One instance per outbox: an entry not forwarded is simply read again.
    public func release(_ ids: [String]) async throws {}

    public func isReady() async -> Bool { (try? await queuedCount()) != nil }
}

public struct SendingStorageCounts: Sendable, Equatable {
    public var queued: Int
    public var delivered: Int
    public var failed: Int
    /// Rows that still hold a ciphertext (queued ones only, once forwarding settles).
    public var withCiphertext: Int

    public init(queued: Int, delivered: Int, failed: Int, withCiphertext: Int) {
        self.queued = queued
        self.delivered = delivered
        self.failed = failed
        self.withCiphertext = withCiphertext
    }
}
