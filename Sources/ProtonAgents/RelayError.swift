import ProtonCore

/// Why a relay could not hand an envelope to a receiving service, or why a receiving service
/// refused its owner's request.
public enum RelayError: Error, Equatable, Sendable {
    /// The receiving service answered 410: the peer has retired that address. Final for this
    /// route; try the next.
    case addressRetired(AddressID)
    /// A 4xx other than 410: final for this envelope on this route.
    case rejected(status: Int, reason: String)
    /// The service could not be reached or answered 5xx: worth retrying later.
    case unavailable(reason: String)
}

extension RelayError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .addressRetired(let address):
            "this contact has retired that address (\(address.hex.prefix(8))…)"
        case .rejected(let status, let reason):
            "the service refused the request with HTTP \(status): \(reason)"
        case .unavailable(let reason):
            "the service is unavailable: \(reason)"
        }
    }
}
