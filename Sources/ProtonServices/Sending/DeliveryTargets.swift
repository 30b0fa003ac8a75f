import AsyncHTTPClient
import Foundation
import ProtonHTTP
import NIOCore
import NIOPosix
import ProtonCore
import Synchronization

/// Where the forwarder may deliver, and how it reaches it. A client names a receiving service
/// and the X25519 key it expects there; before the first delivery the forwarder resolves the
/// host, refuses non-public addresses (unless the operator allowed them), connects to one checked
/// address and no other, and asks `GET /v1/info` whether the service there publishes that key.
/// Only then does it post deliveries, over that same pinned address.
///
/// Anyone may name any target, so what a target can cost is bounded: a target that fails is
/// backed off as a whole, under its origin and under the address and port it resolved to (so
/// neither another name for the same host nor a thousand messages to it cost more than one
/// attempt per backoff period); every exchange has a deadline, body included; and first
/// contacts, the only requests a stranger's target can make us send, share a lane of their own
/// (`ForwardingPolicy.firstContactConcurrency`), so deliveries to checked services never wait
/// behind targets that stall or drop packets.
public actor DeliveryTargets {
    /// A checked way to one target: the client pinned to its address, and that address and
    /// port, under which failures are counted.
    struct Connection: Sendable {
        let client: HTTPClient
        fileprivate let clientKey: String
        fileprivate let endpoint: String
    }

    /// What the forwarder may do with one target right now.
    enum Readiness: Sendable {
        /// Deliver over `connection`, then report with `finished`.
        case ready(Connection)
        /// Final for every message to this target with this key.
        case refused(String)
        /// Try again at `retryAt`; the attempt counts.
        case unreachable(String, retryAt: Date)
        /// The target is backing off after failures, or waits for the first-contact lane: wait
        /// until `until` without an attempt.
        case deferred(until: Date)
    }

    private struct PinnedClient {
        let client: HTTPClient
        var lastUsed: Date
        /// Exchanges in flight: a client in use is never closed to make room.
        var inUse = 0
    }

    private struct Resolution {
        let addresses: [TargetAddress]
        let expires: Date
    }

    private struct Health {
        var failures = 0
        var retryAt = Date.distantPast
    }

    /// How many idle pinned clients are kept; the least recently used beyond it is closed.
    static let maximumClients = 32
    /// How long a name's resolution and a service's verified key are trusted.
    static let resolutionLifetime: TimeInterval = 60
    static let verificationLifetime: TimeInterval = 600
    static let knownLifetime: TimeInterval = 86_400
    /// The most targets whose state is remembered; expired entries go first, then the oldest.
    static let maximumRemembered = 4096
    /// How long a first contact waits when its lane is busy before it is looked at again.
    static let firstContactWait: TimeInterval = 0.5

    private let policy: ForwardingPolicy
    private let now: @Sendable () -> Date
    private var clients: [String: PinnedClient] = [:]
    private var resolutions: [String: Resolution] = [:]
    /// "base|key|address" → when the check expires.
    private var verified: [String: Date] = [:]
    /// "base|key" → until when the origin counts as a known receiving service: a new check of it
    /// (every 10 minutes, or when its name resolves elsewhere) does not wait for the
    /// first-contact lane.
    private var knownOrigins: [String: Date] = [:]
    /// Keyed by origin ("http://host:port") and by endpoint ("address|port").
    private var health: [String: Health] = [:]
    private var firstContactsInFlight = 0
    private var isShutDown = false

    public init(policy: ForwardingPolicy, now: @escaping @Sendable () -> Date = { Date() }) {
        self.policy = policy
        self.now = now
    }

    /// Closes every pinned client. Deliveries after this find every target unreachable.
    public func shutdown() async {
        isShutDown = true
        let open = clients.values.map(\.client)
        clients.removeAll()
        for client in open { try? await client.shutdown() }
    }

    /// Whether messages to `target` (a base URI the outbox accepted) for the service key
    /// `serviceKey` may be forwarded now, and through which connection.
    func prepare(_ target: TargetURI, serviceKey: [UInt8]) async -> Readiness {
        let current = now()
        if let retryAt = backingOff(target.base, now: current) { return .deferred(until: retryAt) }
        guard !isShutDown else { return .unreachable("The sending service is stopping.", retryAt: current) }
        let origin = "\(target.base)|\(Base64URL.encode(serviceKey))"
        let known = (knownOrigins[origin] ?? .distantPast) > current

        // A first contact (no receiving service with this origin and key answered in the last
        // day) takes the lane before anything else, its name lookup included.
        var holdsLane = false
        defer { if holdsLane { firstContactsInFlight -= 1 } }
        if !known {
            guard firstContactsInFlight < policy.firstContactConcurrency else {
                return .deferred(until: current.addingTimeInterval(Self.firstContactWait))
            }
            firstContactsInFlight += 1
            holdsLane = true
        }

        let addresses = await addresses(of: target.host, now: current)
        guard !isShutDown else { return .unreachable("The sending service is stopping.", retryAt: current) }
        guard !addresses.isEmpty else { return failed(target, endpoint: nil, "The receiving service's host name does not resolve.") }
        if !policy.allowsPrivateTargets, addresses.contains(where: { !$0.isPublic }) {
            return .refused("The receiving service's host resolves to an address that is not public; this sending service does not deliver there.")
        }
        // IPv4 first: many hosts that publish an AAAA record cannot route IPv6.
        let pinned = addresses.first { $0.bytes.count == 4 } ?? addresses[0]
        let endpoint = "\(pinned)|\(target.port)"
        // An address and port that refused or dropped connections holds back first contacts
        // under any name; a known service is held back only by its own origin's failures.
        if !known, let retryAt = backingOff(endpoint, now: current) { return .deferred(until: retryAt) }
        let verification = "\(origin)|\(pinned)"
        if let expires = verified[verification], expires > current {
            return .ready(checkOut(host: target.host, pinnedTo: pinned, endpoint: endpoint, now: current))
        }

        let connection = checkOut(host: target.host, pinnedTo: pinned, endpoint: endpoint, now: current)
        let fetched = await Self.fetchKey(from: target, client: connection.client, timeout: policy.requestTimeout)
        switch fetched {
        case .success(let published) where published == serviceKey:
            let checked = now()
            remember(&verified, verification, checked.addingTimeInterval(Self.verificationLifetime), expires: { $0 })
            remember(&knownOrigins, origin, checked.addingTimeInterval(Self.knownLifetime), expires: { $0 })
            return .ready(connection)
        case .success:
            finished(connection)
            return .refused("The receiving service does not publish the key the message was sealed to.")
        case .failure(.notAService):
            finished(connection)
            return .refused("The target is not a Proton receiving service.")
        case .failure(.unreachable(let atConnect)):
            finished(connection)
            return failed(target, endpoint: atConnect ? endpoint : nil, "The receiving service could not be reached.")
        }
    }

    /// An exchange over `connection` is over; `reachable` false backs the target off.
    func finished(_ connection: Connection, target: TargetURI? = nil, reachable: Bool = true) {
        if var pinned = clients[connection.clientKey] {
            pinned.inUse = max(0, pinned.inUse - 1)
            pinned.lastUsed = now()
            clients[connection.clientKey] = pinned
        }
        guard let target else { return }
        if reachable {
            health[target.base] = nil
            health[connection.endpoint] = nil
        } else {
            _ = failed(target, endpoint: nil, Outcome.unreachable.sentence)
        }
    }

    private typealias Outcome = ServiceAPI.SendStatus.Outcome

    /// The target could not be reached or failed: back it off as a whole, under its origin and
    /// its endpoint, doubling each time.
    private func failed(_ target: TargetURI, endpoint: String?, _ reason: String) -> Readiness {
        let current = now()
        var retryAt = current
        for key in [target.base] + (endpoint.map { [$0] } ?? []) {
            var state = health[key] ?? Health()
            state.failures += 1
            state.retryAt = current.addingTimeInterval(policy.backoff(afterAttempts: state.failures))
            remember(&health, key, state, expires: \.retryAt)
            retryAt = max(retryAt, state.retryAt)
        }
        return .unreachable(reason, retryAt: retryAt)
    }

    private func backingOff(_ key: String, now current: Date) -> Date? {
        guard let state = health[key], state.retryAt > current else { return nil }
        return state.retryAt
    }

    private func addresses(of host: String, now current: Date) async -> [TargetAddress] {
        if let cached = resolutions[host], cached.expires > current { return cached.addresses }
        let addresses = await TargetAddress.resolve(host, timeout: policy.connectTimeout)
        remember(&resolutions, host, Resolution(addresses: addresses, expires: current.addingTimeInterval(Self.resolutionLifetime)), expires: \.expires)
        return addresses
    }

    /// A client whose every connection for `host` goes to `address` (AsyncHTTPClient's DNS
    /// override keeps the host for the Host header and TLS, and connects to the address), marked
    /// in use until `finished`. It follows no redirect: a redirect is how a checked target would
    /// send us somewhere unchecked.
    private func checkOut(host: String, pinnedTo address: TargetAddress, endpoint: String, now current: Date) -> Connection {
        let key = "\(host)|\(address)"
        if var existing = clients[key] {
            existing.lastUsed = current
            existing.inUse += 1
            clients[key] = existing
            return Connection(client: existing.client, clientKey: key, endpoint: endpoint)
        }
        var configuration = HTTPClient.Configuration()
        configuration.dnsOverride = [host: address.description]
        configuration.redirectConfiguration = .disallow
        // One connection attempt within the connect timeout; AsyncHTTPClient would otherwise
        // retry until the request's deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(
            connect: .milliseconds(Int64(policy.connectTimeout * 1000)), read: .milliseconds(Int64(policy.requestTimeout * 1000)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        clients[key] = PinnedClient(client: client, lastUsed: current, inUse: 1)
        // Close the least recently used idle clients beyond the bound; clients in use stay
        // (there are at most as many as requests in flight).
        while clients.count > Self.maximumClients,
            let stalest = clients.filter({ $0.value.inUse == 0 }).min(by: { $0.value.lastUsed < $1.value.lastUsed })
        {
            clients[stalest.key] = nil
            Task { try? await stalest.value.client.shutdown() }
        }
        return Connection(client: client, clientKey: key, endpoint: endpoint)
    }

    private enum KeyFetchFailure: Error {
        case notAService
        /// `atConnect`: no connection could be made (refused, timed out, no route), which is
        /// a property of the address and port, not of the name asked for.
        case unreachable(atConnect: Bool)
    }

    /// `GET /v1/info` at the target: the X25519 key it publishes.
    private static func fetchKey(from target: TargetURI, client: HTTPClient, timeout: TimeInterval) async -> Result<[UInt8], KeyFetchFailure> {
        let answer: ServiceHTTP.Response
        do {
            answer = try await ServiceHTTP.perform(.GET, target.base + "/v1/info", client: client, timeout: timeout, bodyLimit: 16 << 10)
        } catch .unreachable(_, _, let atConnect) {
            return .failure(.unreachable(atConnect: atConnect))
        } catch {
            return .failure(.unreachable(atConnect: false))
        }
        if answer.status >= 500 || answer.status == 429 { return .failure(.unreachable(atConnect: false)) }
        guard answer.status == 200,
            let info = try? JSONDecoder().decode(ServiceAPI.ServiceInfo.self, from: Data(answer.body)),
            let key = try? Base64URL.decode(info.publicKey, limit: 32), key.count == 32
        else { return .failure(.notAService) }
        return .success(key)
    }

    /// Bounded memory: past `maximumRemembered` entries the expired ones are dropped, and if
    /// that is not enough, those that expire soonest, down to three quarters.
    private func remember<Value>(_ table: inout [String: Value], _ key: String, _ value: Value, expires: (Value) -> Date) {
        table[key] = value
        guard table.count > Self.maximumRemembered else { return }
        let current = now()
        table = table.filter { $0.key == key || expires($0.value) > current }
        if table.count > Self.maximumRemembered {
            let keep = table.sorted { expires($0.value) > expires($1.value) }.prefix(Self.maximumRemembered * 3 / 4)
            table = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
            table[key] = value
        }
    }
}

/// A receiving service's base URI as the outbox accepts it: http or https, a host, an optional
/// port, and nothing else (no user info, path, query or fragment), so the forwarder's requests
/// go to `/v1/...` at that origin and nowhere else.
struct TargetURI: Hashable, Sendable {
    /// `scheme://host[:port]`, lowercased scheme and host.
    let base: String
    let host: String
    /// The port connected to: the URI's, or the scheme's default.
    let port: Int

    /// Parses `text`, answering from a small cache of recent texts: every accepted send names
    /// its receiving service, most name one of a few, and `URLComponents` costs about 10 µs a
    /// parse (a tenth of a bare request). Refusals are remembered too; past
    /// `maximumCached` texts the cache starts again, so its memory stays bounded whatever
    /// clients send.
    static func parsed(_ text: String) -> TargetURI? {
        // Refused here without the cache, as `init` refuses them: longer than a URI may be, or
        // anything but printable ASCII. So every key is short, and plain ASCII, which Swift
        // compares byte for byte (two texts that are only canonically equivalent, as "K" and
        // the Kelvin sign, would otherwise share an entry).
        guard text.utf8.count <= Route.maximumServiceURIByteCount, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return nil
        }
        if let known = cache.withLock({ $0[text] }) { return known }
        let parsed = TargetURI(text)
        cache.withLock { cache in
            if cache.count >= maximumCached { cache.removeAll(keepingCapacity: true) }
            cache[text] = .some(parsed)
        }
        return parsed
    }

    static let maximumCached = 256
    private static let cache = Mutex<[String: TargetURI?]>([:])

    init?(_ text: String) {
        guard text.utf8.count <= Route.maximumServiceURIByteCount,
            text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }),
            let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            components.path.isEmpty || components.path == "/"
        else { return nil }
        if let port = components.port, !(1...65535).contains(port) { return nil }
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let shownHost = self.host.contains(":") ? "[\(self.host)]" : self.host
        base = "\(scheme)://\(shownHost)" + (components.port.map { ":\($0)" } ?? "")
    }
}
