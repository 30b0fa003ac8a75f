import ProtonCore

/// Any way to move a sealed envelope to the receiving service named by its route: through a
/// sending service, straight to the receiving service, or in-process. The send agent fails over
/// across relays and routes, so a relay makes one attempt and says how it failed.
public protocol Relay: Sendable {
    /// How reports name this relay, e.g. the sending service's URI.
    var name: String { get }

    /// Hands `envelope` to `route`'s receiving service; returns once that service holds it
    /// durably (or, for a sending service, once it has been forwarded).
    func deliver(_ envelope: Envelope, to route: Route) async throws(RelayError)
}
