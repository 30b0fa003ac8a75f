import Foundation
import Hummingbird
import NIOCore

/// A request context that knows the client's address (the TCP peer), for limits per client.
struct ClientRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, or "unknown" (a Unix socket, say).
    var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }

    /// Whom a per-client limit counts against (`ClientRateLimit.client(ofIP:)`).
    var clientNetwork: String { ClientRateLimit.client(ofIP: clientIP) }
}
