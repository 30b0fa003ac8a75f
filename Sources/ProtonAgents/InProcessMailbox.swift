import Foundation
import ProtonCore
import ProtonCrypto

/// A receiving service that lives in this process: it holds its sealed-box key, opens sealed
/// addresses, keeps ciphertexts per address and answers "gone" for retired ones. For tests and
/// for embedding the agents where no network is wanted; `InProcessRelay` delivers to it.
public actor InProcessMailbox: Mailbox {
    public nonisolated let serviceURI: String
    private let key: SealedBox.PrivateKey
    private var addresses: [AddressID: Entry] = [:]
    private var retired: Set<AddressID> = []
    private var nextID: Int64 = 1
    private var available = true

    private struct Entry {
        let owner: Ed25519.PublicKey
        var messages: [ServiceAPI.StoredMessage] = []
        /// Acknowledged messages, kept only so that a test can have them delivered again.
        var acknowledged: [ServiceAPI.StoredMessage] = []
    }

    public init(serviceURI: String, key: SealedBox.PrivateKey = SealedBox.PrivateKey()) {
        self.serviceURI = serviceURI
        self.key = key
    }

    // MARK: - What a sender sees

    /// Opens the sealed address and stores the ciphertext under it.
    public func deliver(_ envelope: Envelope) throws(RelayError) {
        guard available else { throw .unavailable(reason: "\(serviceURI) is down") }
        let address: AddressID
        do { address = try envelope.openAddress(with: key) } catch {
            throw .rejected(status: 400, reason: "the sealed address does not open with this service's key")
        }
        if retired.contains(address) { throw .addressRetired(address) }
        guard addresses[address] != nil else { throw .rejected(status: 404, reason: "no such address") }
        let message = ServiceAPI.StoredMessage(
            id: nextID, ciphertext: Base64URL.encode(envelope.ciphertext), receivedAt: Int64(Date().timeIntervalSince1970))
        nextID += 1
        addresses[address]!.messages.append(message)
    }

    // MARK: - Mailbox

    public func serviceKey() throws(RelayError) -> SealedBox.PublicKey {
        guard available else { throw .unavailable(reason: "\(serviceURI) is down") }
        return key.publicKey
    }

    public func createAddress(_ address: OwnedAddress) throws(RelayError) {
        guard available else { throw .unavailable(reason: "\(serviceURI) is down") }
        guard addresses[address.id] == nil, !retired.contains(address.id) else {
            throw .rejected(status: 409, reason: "the address exists already")
        }
        addresses[address.id] = Entry(owner: address.authKey.publicKey)
    }

    public func fetch(_ address: OwnedAddress, after: Int64, wait: Int) async throws(RelayError) -> [ServiceAPI.StoredMessage] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(wait))
        while true {
            let found = try messages(of: address).filter { $0.id > after }
            if !found.isEmpty || ContinuousClock.now >= deadline { return found }
            // A cancelled long-poll simply ends empty, as a closed HTTP request would.
            do { try await Task.sleep(for: .milliseconds(5)) } catch { return [] }
        }
    }

    public func acknowledge(_ address: OwnedAddress, upTo: Int64) throws(RelayError) {
        _ = try messages(of: address)
        let done = addresses[address.id]!.messages.filter { $0.id <= upTo }
        addresses[address.id]!.messages.removeAll { $0.id <= upTo }
        addresses[address.id]!.acknowledged += done
    }

    public func retire(_ address: OwnedAddress) throws(RelayError) {
        guard available else { throw .unavailable(reason: "\(serviceURI) is down") }
        if retired.contains(address.id) { return }
        guard let entry = addresses[address.id], entry.owner == address.authKey.publicKey else {
            throw .rejected(status: 404, reason: "no such address")
        }
        addresses[address.id] = nil
        retired.insert(address.id)
    }

    private func messages(of address: OwnedAddress) throws(RelayError) -> [ServiceAPI.StoredMessage] {
        guard available else { throw .unavailable(reason: "\(serviceURI) is down") }
        if retired.contains(address.id) { throw .addressRetired(address.id) }
        guard let entry = addresses[address.id], entry.owner == address.authKey.publicKey else {
            throw .rejected(status: 404, reason: "no such address")
        }
        return entry.messages
    }

    // MARK: - For tests

    /// Takes the service off the network (every request fails as unavailable) or brings it back.
    public func setAvailable(_ isAvailable: Bool) { available = isAvailable }

    /// Retires an address as its owner would, without the owner's key.
    public func retireAddress(_ address: AddressID) {
        addresses[address] = nil
        retired.insert(address)
    }

    /// Puts every acknowledged message back under fresh ids, as a service that lost its
    /// acknowledgements would deliver them again.
    public func redeliverAcknowledged() {
        for address in addresses.keys {
            for old in addresses[address]!.acknowledged {
                addresses[address]!.messages.append(
                    ServiceAPI.StoredMessage(id: nextID, ciphertext: old.ciphertext, receivedAt: old.receivedAt))
                nextID += 1
            }
            addresses[address]!.acknowledged = []
        }
    }

    /// Messages waiting, over all addresses.
    public var waitingCount: Int { addresses.values.reduce(0) { $0 + $1.messages.count } }

    public func isRetired(_ address: AddressID) -> Bool { retired.contains(address) }
}
