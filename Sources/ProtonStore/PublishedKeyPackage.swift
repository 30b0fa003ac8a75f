import Foundation
import ProtonCore
import ProtonCrypto

/// A key package we published at a brokered directory, as the store keeps it: the persona and
/// name it is for, its expiry, and its first-contact route with the key that owns the address.
/// The private prekeys stay in the store; each one-time prekey's is erased when it is used.
public struct PublishedKeyPackage: Sendable {
    public let id: KeyPackageID
    public let personaID: PersonaID
    /// NAME@NAMESPACE.
    public let name: String
    /// The package's first-contact route, with the key that owns its address.
    public let route: OwnRoute
    public let expires: Date
    public let created: Date

    public var address: AddressID { route.address }
}

/// Why an initial message to one of our key packages was refused. Each case reads as one sentence.
public enum KeyPackageError: Error, Equatable, Sendable {
    /// No key package of ours has this id or address (deleted after expiring).
    case unknownKeyPackage
    /// The message names a signed or one-time prekey that is not this package's.
    case prekeyMismatch
    /// The one-time prekey the message names was used by an earlier initial message.
    case oneTimePrekeyUsed(Date)
    /// The key package expired before the message reached the service.
    case expired(Date)
}

extension KeyPackageError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .unknownKeyPackage: "no key package of this profile has this address (it expired and was deleted, or was never published here)"
        case .prekeyMismatch: "it names a prekey that is not this key package's"
        case .oneTimePrekeyUsed(let date):
            "the one-time prekey it names was already used at \(InviteError.format(date)); each starts one relationship only"
        case .expired(let date): "the key package expired at \(InviteError.format(date)); the sender must fetch a fresh one"
        }
    }

    public var errorDescription: String? { description }
}
