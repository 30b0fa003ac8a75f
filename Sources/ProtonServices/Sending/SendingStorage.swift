import Foundation
import ProtonCore

/// Where a sending service keeps its outbox. It holds, per message, only what forwarding needs:
/// the receiving service's URI, the sealed address (which this service cannot open) and the
/// ciphertext; both blobs are dropped once the message is delivered or has failed for good.
public protocol SendingStorage: Sendable {
    /// Commits `entry` as queued before returning.
    func enqueue(_ entry: OutboxEntry, now: Date) async throws

    func status(_ id: String) async throws -> ServiceAPI.SendStatus?

    /// Queued entries whose next attempt is due, oldest first, leaving out `excluding`.
    func dueEntries(now: Date, excluding: Set<String>, limit: Int) async throws -> [OutboxEntry]

    /// When the earliest queued entry outside `excluding` is due; nil if none is queued.
    func nextAttemptTime(excluding: Set<String>) async throws -> Date?

    func recordDelivered(_ id: String, attempts: Int, now: Date) async throws

    func recordFailed(_ id: String, attempts: Int, httpStatus: Int?, error: String, now: Date) async throws

    func recordRetry(_ id: String, attempts: Int, nextAttempt: Date, httpStatus: Int?, error: String) async throws

    /// Deletes the status rows of messages that settled before `before`; returns how many.
    func purgeSettled(before: Date) async throws -> Int

    func counts() async throws -> SendingStorageCounts

    func close() async
}

/// One message waiting to be forwarded.
public struct OutboxEntry: Sendable, Equatable {
    public var id: String
    public var receivingService: String
    public var sealedAddress: [UInt8]
    public var ciphertext: [UInt8]
    /// Attempts made so far.
    public var attempts: Int

    public init(id: String, receivingService: String, sealedAddress: [UInt8], ciphertext: [UInt8], attempts: Int = 0) {
        self.id = id
        self.receivingService = receivingService
        self.sealedAddress = sealedAddress
        self.ciphertext = ciphertext
        self.attempts = attempts
    }
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
