import AsyncHTTPClient
import Foundation
import NIOCore
import ProtonCore

/// Where the forwarder may deliver, and how it reaches it. A client names a receiving service
/// and the X25519 key it expects there; before the first delivery the forwarder resolves the
/// host, refuses non-public addresses (unless the operator allowed them), connects to one checked
/// address and no other, and asks `GET /v1/info` whether the service there publishes that key.
/// Only then does it post deliveries, over that same pinned address. A target that fails is
/// backed off as a whole, so a thousand messages to one dead host cost one attempt per backoff
/// period, not a thousand.
public actor DeliveryTargets {
    /// What the forwarder may do with one target right now.
    enum Readiness: Sendable {
        /// Deliver with `client`, whose connections go to a checked address only.
        case ready(HTTPClient)
        /// Final for every message to this target with this key.
        case refused(String)
        /// Try again at `retryAt`; the attempt counts.
        case unreachable(String, retryAt: Date)
        /// The target is backing off after failures: wait until `until` without an attempt.
        case deferred(until: Date)
    }

    private struct PinnedClient {
        let client: HTTPClient
        var lastUsed: Date
    }

    private struct Resolution {
        let addresses: [TargetAddress]
        let expires: Date
    }

    private struct Health {
        var failures = 0
        var retryAt = Date.distantPast
    }

    /// How many pinned clients are kept; the least recently used beyond it is closed.
    static let maximumClients = 32
    /// How long a name's resolution and a service's verified key are trusted.
    static let resolutionLifetime: TimeInterval = 60
    static let verificationLifetime: TimeInterval = 600
    /// The most targets whose state is remembered; the stalest are forgotten first.
    static let maximumRemembered = 4096

    private let policy: ForwardingPolicy
    private let now: @Sendable () -> Date
    private var clients: [String: PinnedClient] = [:]
    private var resolutions: [String: Resolution] = [:]
    /// "base|address|key" → when the check expires.
    private var verified: [String: Date] = [:]
    private var health: [String: Health] = [:]
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
    /// `serviceKey` may be forwarded now, and through which client.
    func prepare(_ target: TargetURI, serviceKey: [UInt8]) async -> Readiness {
        let current = now()
        if let state = health[target.base], state.retryAt > current { return .deferred(until: state.retryAt) }
        guard !isShutDown else { return .unreachable("The sending service is stopping.", retryAt: current) }

        let addresses = await addresses(of: target.host, now: current)
        guard !addresses.isEmpty else { return failed(target, "The receiving service's host name does not resolve.") }
        if !policy.allowsPrivateTargets, addresses.contains(where: { !$0.isPublic }) {
            return .refused("The receiving service's host resolves to an address that is not public; this sending service does not deliver there.")
        }
        // IPv4 first: many hosts that publish an AAAA record cannot route IPv6.
        let pinned = addresses.first { $0.bytes.count == 4 } ?? addresses[0]
        let client = client(for: target.host, pinnedTo: pinned, now: current)
        let verification = "\(target.base)|\(pinned)|\(Base64URL.encode(serviceKey))"
        if let expires = verified[verification], expires > current { return .ready(client) }
        switch await Self.fetchKey(from: target, client: client, timeout: policy.requestTimeout) {
        case .success(let published) where published == serviceKey:
            remember(&verified, verification, current.addingTimeInterval(Self.verificationLifetime))
            return .ready(client)
        case .success:
            return .refused("The receiving service does not publish the key the message was sealed to.")
        case .failure(.notAService):
            return .refused("The target is not a Proton receiving service.")
        case .failure(.unreachable):
            return failed(target, "The receiving service could not be reached.")
        }
    }

    /// The target answered as a receiving service: its backoff ends.
    func succeeded(_ target: TargetURI) {
        health[target.base] = nil
    }

    /// The target could not be reached or failed: back it off as a whole, doubling each time.
    @discardableResult
    func failed(_ target: TargetURI, _ reason: String) -> Readiness {
        var state = health[target.base] ?? Health()
        state.failures += 1
        state.retryAt = now().addingTimeInterval(policy.backoff(afterAttempts: state.failures))
        remember(&health, target.base, state)
        return .unreachable(reason, retryAt: state.retryAt)
    }

    private func addresses(of host: String, now current: Date) async -> [TargetAddress] {
        if let cached = resolutions[host], cached.expires > current { return cached.addresses }
        let addresses = await TargetAddress.resolve(host)
        remember(&resolutions, host, Resolution(addresses: addresses, expires: current.addingTimeInterval(Self.resolutionLifetime)))
        return addresses
    }

    /// A client whose every connection for `host` goes to `address` (AsyncHTTPClient's DNS
    /// override keeps the host for the Host header and TLS, and connects to the address). It
    /// follows no redirect: a redirect is how a checked target would send us somewhere unchecked.
    private func client(for host: String, pinnedTo address: TargetAddress, now current: Date) -> HTTPClient {
        let key = "\(host)|\(address)"
        if var existing = clients[key] {
            existing.lastUsed = current
            clients[key] = existing
            return existing.client
        }
        var configuration = HTTPClient.Configuration()
        configuration.dnsOverride = [host: address.description]
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .milliseconds(Int64(policy.requestTimeout * 1000)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        clients[key] = PinnedClient(client: client, lastUsed: current)
        if clients.count > Self.maximumClients, let stalest = clients.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            clients[stalest.key] = nil
            Task { try? await stalest.value.client.shutdown() }
        }
        return client
    }

    private enum KeyFetchFailure: Error {
        case notAService
        case unreachable
    }

    /// `GET /v1/info` at the target: the X25519 key it publishes.
    private static func fetchKey(from target: TargetURI, client: HTTPClient, timeout: TimeInterval) async -> Result<[UInt8], KeyFetchFailure> {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await client.execute(HTTPClientRequest(url: target.base + "/v1/info"), timeout: .milliseconds(Int64(timeout * 1000)))
            body = try await response.body.collect(upTo: 16 << 10)
        } catch {
            return .failure(.unreachable)
        }
        if response.status.code >= 500 { return .failure(.unreachable) }
        guard response.status.code == 200,
            let info = try? JSONDecoder().decode(ServiceAPI.ServiceInfo.self, from: Data(body.readableBytesView)),
            let key = try? Base64URL.decode(info.publicKey, limit: 32), key.count == 32
        else { return .failure(.notAService) }
        return .success(key)
    }

    /// Bounded memory: past `maximumRemembered` entries the oldest half is dropped.
    private func remember<Value>(_ table: inout [String: Value], _ key: String, _ value: Value) {
        table[key] = value
        if table.count > Self.maximumRemembered {
            for stale in table.keys.prefix(Self.maximumRemembered / 2) where stale != key { table[stale] = nil }
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

    init?(_ text: String) {
        guard text.utf8.count <= Route.maximumServiceURIByteCount,
            text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }),
            let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            components.path.isEmpty || components.path == "/"
        else { return nil }
        if let port = components.port, !(1...65535).contains(port) { return nil }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let shownHost = self.host.contains(":") ? "[\(self.host)]" : self.host
        base = "\(scheme)://\(shownHost)" + (components.port.map { ":\($0)" } ?? "")
    }
}
