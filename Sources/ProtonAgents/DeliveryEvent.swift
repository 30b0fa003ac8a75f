import ProtonCore
import ProtonStore

/// What the send agent did with one outbox item or one relationship, for the caller to show.
public enum DeliveryEvent: Sendable, Equatable {
    /// A receiving service holds the message now.
    case delivered(outboxID: Int64, protonID: ProtonID, address: AddressID, via: String)
    /// The receiving service answered 410 for that route; the agent moved on to the next one.
    case addressRetired(protonID: ProtonID, address: AddressID)
    /// Every route and relay failed for now; the message stays in the outbox for a later try.
    case deferred(outboxID: Int64, protonID: ProtonID, attempts: Int, reason: String)
    /// Rotation was due but no fresh address could be created; the message went without one.
    case rotationDeferred(protonID: ProtonID, reason: String)
}

extension DeliveryEvent: CustomStringConvertible {
    public var description: String {
        switch self {
        case .delivered(_, _, let address, let via):
            "delivered to \(address.hex.prefix(8))… via \(via)"
        case .addressRetired(_, let address):
            "this contact has retired that address (\(address.hex.prefix(8))…); trying a current route"
        case .deferred(_, _, let attempts, let reason):
            "not delivered yet after \(attempts) attempt\(attempts == 1 ? "" : "s"), will retry: \(reason)"
        case .rotationDeferred(_, let reason):
            "the address rotation is postponed: \(reason)"
        }
    }
}
