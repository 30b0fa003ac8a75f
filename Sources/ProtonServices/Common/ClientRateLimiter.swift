import Foundation
import Synchronization

/// A token bucket per client (an IPv4 address or an IPv6 /64): `burst` requests at once, then
/// `perSecond` a second. The table of clients is bounded: past `maximumClients` the buckets that
/// are full again (idle clients) are dropped, and if that is not enough, the fullest ones down to
/// three quarters of the bound, so that a flood from many networks never resets the buckets of
/// the clients that are being limited. Clients behind one address (a NAT, a Tor exit) share
/// one bucket.
public struct ClientRateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
    }

    /// Whom a limit counts against: the IPv4 address (also when written as an IPv4-mapped IPv6
    /// address), or the /64 network of an IPv6 one (one host is commonly given a whole /64, so
    /// counting single IPv6 addresses would give it 2^64 budgets).
    public static func client(ofIP ip: String) -> String {
        guard let address = TargetAddress(ip), address.bytes.count == 16 else { return ip }
        let b = address.bytes
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xff, b[11] == 0xff { return b[12...].map(String.init).joined(separator: ".") }
        return b[0..<8].map { String(format: "%02x", $0) }.joined() + "::/64"
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
                if table.count > Self.maximumClients {
                    let emptiest = table.sorted { $0.value.tokens < $1.value.tokens }.prefix(Self.maximumClients * 3 / 4)
                    table = Dictionary(uniqueKeysWithValues: emptiest.map { ($0.key, $0.value) })
                    table[client] = bucket
                }
            }
            return allowed
        }
    }
}
