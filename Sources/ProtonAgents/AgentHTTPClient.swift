import AsyncHTTPClient
import Foundation
import NIOCore
import ProtonCrypto
import Synchronization

/// The HTTP clients the agents use unless given another. Unlike `HTTPClient.shared` they fail a
/// refused connection at once instead of retrying until the deadline, because the agents fail
/// over to another service or route rather than wait; and they follow no redirects, because a
/// signed owner request must reach the service it was signed for.
///
/// Without a proxy every request goes through one client. With one (`useProxy`, from
/// `--proxy` or `$PROTON_PROXY`), each isolation key (an address, a service) gets a client of its
/// own whose proxy credentials are derived from the key, so that Tor puts it on a circuit of
/// its own and no two addresses share a connection or an exit.
public enum AgentHTTPClient {
    /// Lives as long as the process, like HTTPClient.shared, so it is never shut down.
    public static let direct: HTTPClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(proxy: nil))

    /// The client for requests that concern no address in particular: through the proxy when one
    /// is in use (isolated per process run), else direct.
    public static var shared: HTTPClient { client(isolating: "shared") }

    /// The client for requests about `key`: its own isolated client through the proxy, or the
    /// direct one.
    public static func client(isolating key: String) -> HTTPClient {
        guard let proxied = proxied.withLock({ $0 }) else { return direct }
        return proxied.client(for: key)
    }

    /// Whether requests go through a proxy.
    public static var proxy: AgentProxy? { proxied.withLock { $0?.proxy } }

    /// Sends every later request through `proxy`. For a SOCKS5 proxy a loopback bridge is
    /// started first (see `SOCKSBridge`). Meant to be called once, at the start of a process.
    public static func useProxy(_ proxy: AgentProxy) throws(AgentError) {
        let server: (host: String, port: Int)
        var bridge: SOCKSBridge?
        switch proxy.kind {
        case .http:
            server = (proxy.host, proxy.port)
        case .socks5:
            do { bridge = try SOCKSBridge.start(upstreamHost: proxy.host, upstreamPort: proxy.port) } catch {
                throw .badProxy(proxy.description, reason: "could not start the local bridge to it (\(error))")
            }
            server = ("127.0.0.1", bridge!.port)
        }
        let clients = IsolatedClients(proxy: proxy, server: server, bridge: bridge)
        proxied.withLock { $0 = clients }
    }

    private static let proxied = Mutex<IsolatedClients?>(nil)

    static func configuration(proxy: HTTPClient.Configuration.Proxy?) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(proxy == nil ? 5 : 30), read: .seconds(90))
        configuration.connectionPool.retryConnectionEstablishment = false
        // A receive round long-polls up to `ReceiveAgent.maximumConcurrentFetches` addresses at
        // one service at once, each holding a connection for up to a minute; twice that many
        // per host leaves room for what the same process asks the same service meanwhile (a
        // block's retirements, a fresh address, a delivery), which would otherwise wait for a
        // connection until the pool gives up.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2 * ReceiveAgent.maximumConcurrentFetches
        configuration.redirectConfiguration = .disallow
        configuration.proxy = proxy
        return configuration
    }
}

/// One client per isolation key, each with its own proxy credentials. The credentials are a
/// keyed hash of the isolation key under a key drawn at the start of the process, so the proxy
/// sees neither addresses nor service names, and nothing links two runs. Clients live for the
/// process (a command is short; `receive --watch` has one per address it fetches, which the
/// rotation limits bound).
final class IsolatedClients: Sendable {
    let proxy: AgentProxy
    private let server: (host: String, port: Int)
    private let bridge: SOCKSBridge?
    private let secret = SystemRandom().bytes(32)
    private let clients = Mutex<[String: HTTPClient]>([:])

    init(proxy: AgentProxy, server: (host: String, port: Int), bridge: SOCKSBridge?) {
        self.proxy = proxy
        self.server = server
        self.bridge = bridge
    }

    func client(for key: String) -> HTTPClient {
        let username = credential(for: key)
        return clients.withLock { table in
            if let existing = table[username] { return existing }
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: AgentHTTPClient.configuration(
                    proxy: .server(host: server.host, port: server.port, authorization: .basic(username: username, password: bridge?.password ?? "proton"))))
            table[username] = client
            return client
        }
    }

    private func credential(for key: String) -> String {
        HMACSHA256.authenticationCode(for: Array(key.utf8), using: secret).unsafeExportedBytes().prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
