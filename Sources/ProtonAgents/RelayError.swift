import ProtonCore

/// Why a relay could not hand an envelope to a receiving service.
public enum RelayError: Error, Equatable, Sendable {
    /// The receiving service answered 410: the peer has retired that address. Final for this
    /// route; try the next.
    case addressRetired(AddressID)
    /// A 4xx other than 410: final for this envelope on this route.
    case rejected(status: Int, reason: String)
    /// The service could not be reached or answered 5xx: worth retrying later.
    case unavailable(reason: String)
}
