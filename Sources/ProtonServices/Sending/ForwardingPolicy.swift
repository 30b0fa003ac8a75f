import Foundation
import ProtonCore

/// How the sending service forwards: retries with exponential backoff, bounded, and where it
/// may forward to.
public struct ForwardingPolicy: Sendable, Equatable {
    /// Off: sends are accepted and kept queued, nothing is forwarded (tests of durability
    /// stop a service in exactly that state).
    public var isEnabled: Bool
    /// Attempts per message before it is reported failed.
    public var maximumAttempts: Int
    /// The wait after the first failed attempt; it doubles with each further one.
    public var initialBackoff: TimeInterval
    public var maximumBackoff: TimeInterval
    /// How long one attempt may take, from connecting to the last byte of the answer.
    public var requestTimeout: TimeInterval
    /// How long establishing a connection may take. Short: an address that drops packets
    /// would otherwise hold a forwarding slot for the whole request timeout.
    public var connectTimeout: TimeInterval
    /// How many forwarding requests are in flight at once (across all receiving services).
    public var concurrency: Int
    /// How many of them may be first contacts: a target whose key has not been checked yet
    /// (`GET /v1/info`). Anyone may name any target, so a flood of targets that stall or drop
    /// packets is confined to this lane, and deliveries to checked services never wait behind it.
    public var firstContactConcurrency: Int
    /// The most messages one request carries to one receiving service
    /// (`POST /v1/deliver/batch`; a single message goes to `POST /v1/deliver`). At most
    /// `ServiceAPI.maximumDeliveriesPerBatch`; 1 turns batching off.
    public var batchSize: Int
    /// Whether receiving services on loopback, private, link-local and other non-public
    /// addresses may be delivered to (`TargetAddress.isPublic`). Off by default: a sending
    /// service on a server would otherwise forward its clients' requests into its own network.
    /// A test or demo whose services all listen on loopback turns it on
    /// (`proton serve sending --allow-private-targets`).
    public var allowsPrivateTargets: Bool

    public init(
        isEnabled: Bool = true, maximumAttempts: Int = 12, initialBackoff: TimeInterval = 1, maximumBackoff: TimeInterval = 300,
        requestTimeout: TimeInterval = 15, connectTimeout: TimeInterval = 5, concurrency: Int = 4, firstContactConcurrency: Int = 1,
        batchSize: Int = ServiceAPI.maximumDeliveriesPerBatch, allowsPrivateTargets: Bool = false
    ) {
        self.allowsPrivateTargets = allowsPrivateTargets
        self.isEnabled = isEnabled
        self.maximumAttempts = maximumAttempts
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.requestTimeout = requestTimeout
        self.connectTimeout = min(max(0.1, connectTimeout), requestTimeout)
        self.concurrency = max(1, concurrency)
        self.firstContactConcurrency = max(1, firstContactConcurrency)
        self.batchSize = min(max(1, batchSize), ServiceAPI.maximumDeliveriesPerBatch)
    }

    /// How many of the requests in flight may go to one receiving service (and key): all but
    /// one, so that a receiving service that answers slowly (a stranger's may answer each
    /// request just inside `requestTimeout`, with a backlog older than everyone else's) never
    /// holds every request while messages to other services are due.
    public var requestsPerTarget: Int { max(1, concurrency - 1) }

    /// The wait after `attempts` failed attempts.
    func backoff(afterAttempts attempts: Int) -> TimeInterval {
        min(maximumBackoff, initialBackoff * pow(2, Double(max(0, attempts - 1))))
    }

    /// How long an instance sharing a PostgreSQL outbox holds the messages it took: longer
    /// than one forwarding can last (connecting, the batch request, then each message on its
    /// own, each within `requestTimeout`), with a margin for a slow database. Another instance
    /// takes a killed instance's messages once it ends.
    public var claimLease: TimeInterval { connectTimeout + 3 * requestTimeout + 30 }
}
