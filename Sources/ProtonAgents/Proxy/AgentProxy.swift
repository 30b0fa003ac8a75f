import Foundation

/// Where the agents send their requests when the receiving service must not see the user's own
/// address, or must not be able to tell that two addresses are fetched by one person: a SOCKS5
/// proxy (Tor's `SocksPort`) or an HTTP proxy that tunnels with CONNECT (Tor's `HTTPTunnelPort`).
///
/// Every request is tagged with an isolation key (the address it concerns, or the service it
/// talks to) that travels as the proxy credentials; Tor gives each distinct credential its own
/// circuit (`IsolateSOCKSAuth`, on by default), so the receiving service sees each address
/// fetched from an exit of its own.
public struct AgentProxy: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case socks5
        case http
    }

    public let kind: Kind
    public let host: String
    public let port: Int

    public init(kind: Kind, host: String, port: Int) {
        self.kind = kind
        self.host = host
        self.port = port
    }

    /// `socks5://host:port`, `socks5h://host:port` (the same: names are always resolved by the
    /// proxy) or `http://host:port`. No user information: the agents choose the credentials
    /// themselves, one per isolation key.
    public init(parsing text: String) throws(AgentError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw .badProxy(text, reason: "it is not a URI such as socks5://127.0.0.1:9050") }
        let kind: Kind
        switch scheme {
        case "socks5", "socks5h": kind = .socks5
        case "http": kind = .http
        default: throw .badProxy(text, reason: "the scheme must be socks5 or http")
        }
        guard components.user == nil, components.password == nil else {
            throw .badProxy(text, reason: "it must not carry credentials; Proton sets one per address to isolate them")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil else {
            throw .badProxy(text, reason: "it must be scheme://host:port and nothing else")
        }
        guard let port = components.port, (1...65535).contains(port) else {
            throw .badProxy(text, reason: "it must name a port (Tor's SocksPort is usually 9050)")
        }
        self.init(kind: kind, host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port)
    }

    public var description: String {
        "\(kind.rawValue)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
