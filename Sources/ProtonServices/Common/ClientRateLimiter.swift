import Foundation
import Synchronization

/// A token bucket per client: `burst` requests at once, then `perSecond` a second. The table of
/// clients is bounded: past `maximumClients` the buckets that are full again (idle clients) are
/// dropped, and if none is, the whole table is (a flood of distinct addresses resets the
/// limiter rather than exhausting memory).
public struct ClientRateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
    }

    /// No limit, for benchmarks and tests that measure throughput.
    public static let unlimited = ClientRateLimit(perSecond: .infinity, burst: .infinity)
}

final class ClientRateLimiter: Sendable {
    static let maximumClients = 10_000

    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    let limit: ClientRateLimit
    private let buckets = Mutex<[String: Bucket]>([:])

    init(_ limit: ClientRateLimit) {
        self.limit = limit
    }

    /// Takes one token for `client`; false when its bucket is empty.
    func allow(_ client: String, now: Date) -> Bool {
        guard limit.perSecond.isFinite else { return true }
        return buckets.withLock { table in
            var bucket = table[client] ?? Bucket(tokens: limit.burst, updated: now)
            bucket.tokens = min(limit.burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * limit.perSecond)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            table[client] = bucket
            if table.count > Self.maximumClients {
                table = table.filter { _, old in
                    old.tokens + max(0, now.timeIntervalSince(old.updated)) * limit.perSecond < limit.burst
                }
                if table.count > Self.maximumClients { table.removeAll() }
            }
            return allowed
        }
    }
}
