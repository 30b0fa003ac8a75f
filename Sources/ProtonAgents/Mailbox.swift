import Foundation
import ProtonCore
import ProtonCrypto

/// The owner's side of one receiving service: creating our addresses there, fetching and
/// acknowledging what arrived, and retiring addresses. Every request is made as the address's
/// owner (signed with its auth key where the service is remote).
public protocol Mailbox: Sendable {
    /// The service's base URI, as it appears in our routes.
    var serviceURI: String { get }

    /// The X25519 key that senders seal our addresses to.
    func serviceKey() async throws(RelayError) -> SealedBox.PublicKey

    /// Registers a fresh address with the key that owns it.
    func createAddress(_ address: OwnedAddress) async throws(RelayError)

    /// Messages with an id greater than `after`, oldest first; waits up to `wait` seconds for
    /// one to arrive when none is there.
    func fetch(_ address: OwnedAddress, after: Int64, wait: Int) async throws(RelayError) -> [ServiceAPI.StoredMessage]

    /// Deletes every message up to and including `upTo`.
    func acknowledge(_ address: OwnedAddress, upTo: Int64) async throws(RelayError)

    /// Retires the address: later deliveries to it are answered "gone".
    func retire(_ address: OwnedAddress) async throws(RelayError)
}

extension OwnRoute {
    /// The address with the key that owns it, as a mailbox request needs it.
    public var ownedAddress: OwnedAddress { OwnedAddress(id: address, authKey: authKey) }
}
