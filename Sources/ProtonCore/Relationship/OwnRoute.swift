import Foundation
import ProtonCrypto

/// A route of ours that we handed to one peer, with the key that owns its address and where it
/// is in its life: offered (waiting for the peer's acknowledgement), active, retiring (replaced,
/// still accepting messages during the grace period), retired.
public struct OwnRoute: Sendable {
    public enum State: Sendable, Equatable {
        case offered(sequence: UInt64)
        case active
        case retiring(since: Date)
        case retired
    }

    public let route: Route
    public let authKey: Ed25519.PrivateKey
    public internal(set) var state: State
    public let issuedAt: Date
    /// A first-contact route (an invite's or a key package's) serves more than this relationship:
    /// the proton stops accepting it, but nobody deletes it at the service on this proton's behalf.
    public let isShared: Bool

    public init(route: Route, authKey: Ed25519.PrivateKey, state: State, issuedAt: Date, isShared: Bool = false) {
        self.route = route
        self.authKey = authKey
        self.state = state
        self.issuedAt = issuedAt
        self.isShared = isShared
    }

    public var address: AddressID { route.address }

    func acceptsMessages(now: Date, grace: TimeInterval) -> Bool {
        switch state {
        case .offered, .active: true
        case .retiring(let since): now < since.addingTimeInterval(grace)
        case .retired: false
        }
    }
}

/// A route the peer gave us, newest first in `Proton.peerRoutes`.
public struct PeerRoute: Sendable, Equatable {
    public let route: Route
    public let addedAt: Date
}
