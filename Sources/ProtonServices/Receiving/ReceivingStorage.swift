import Foundation
import ProtonCore
import ProtonCrypto

/// Where a receiving service keeps addresses, ciphertexts and seen nonces. SQLite is the
/// embedded default (`SQLiteReceivingStorage`); `PostgresReceivingStorage` lets many stateless
/// instances share one database. Every method is one transaction.
public protocol ReceivingStorage: Sendable {
    /// Registers `address` as owned by `authKey`; false if the id exists (live or retired).
    func createAddress(_ address: AddressID, authKey: Ed25519.PublicKey, now: Date) async throws -> Bool

    func address(_ address: AddressID) async throws -> AddressRecord?

    /// Stores the message under its address unless its envelope was stored before (a replay:
    /// nothing changes), or the address is unknown, retired or over its quota. A stored
    /// envelope's replay tag is kept for the message lifetime. Returns once committed.
    func deliver(_ message: IncomingMessage, now: Date, limits: ReceivingServiceLimits) async throws -> DeliveryOutcome

    /// Stores several messages in one transaction, each as `deliver` would (a message counts
    /// against the quota of those before it), and returns each one's outcome, in order, once
    /// the transaction is committed. If it throws, none was stored.
    func deliver(_ messages: [IncomingMessage], now: Date, limits: ReceivingServiceLimits) async throws -> [DeliveryOutcome]

    /// Messages with an id above `after` received after `notBefore`, oldest first.
    func messages(for address: AddressID, after: Int64, receivedAfter notBefore: Date, limit: Int) async throws -> [ServiceAPI.StoredMessage]

    /// Deletes the address's messages with an id up to `upTo`; returns how many.
    func acknowledge(_ address: AddressID, upTo: Int64) async throws -> Int

    /// Deletes the address's messages and marks it retired; the row stays as a tombstone.
    func retire(_ address: AddressID, now: Date) async throws

    /// Records a request nonce until `expires`; false if it was seen before (a replay).
    func recordNonce(_ nonce: [UInt8], expires: Date) async throws -> Bool

    /// Deletes messages received before `messagesBefore`, and nonces and replay tags that
    /// expired by `now`.
    func sweep(messagesBefore: Date, now: Date) async throws -> SweepResult

    /// Every row counted (tests, the operator's tools).
    func counts() async throws -> ReceivingStorageCounts

    /// The queue's depths for `/metrics` (`nonces` left 0): what a scrape may read every few
    /// seconds however large the queue. By default `counts()`.
    func depths() async throws -> ReceivingStorageCounts

    /// Whether the storage answers (`/ready`): a query that costs nothing however many messages
    /// are held (counting them may take longer than a statement may run).
    func isReady() async -> Bool

    /// Checks that every instance sharing this storage seals to the same service key: records
    /// `publicKey` if none is, and throws `PostgresDatabaseError.otherServiceKey` if another is.
    func adoptServiceKey(_ publicKey: [UInt8]) async throws

    /// Calls `delivered` for every message stored by another instance sharing this storage,
    /// until cancelled, so that long-polls there wake. Returns at once where nothing is shared.
    func deliveries(_ delivered: @escaping @Sendable (AddressID) async -> Void) async throws

    func close() async
}

extension ReceivingStorage {
    public func isReady() async -> Bool { (try? await counts()) != nil }

    public func depths() async throws -> ReceivingStorageCounts { try await counts() }

    /// One instance per data directory: nothing to check.
    public func adoptServiceKey(_ publicKey: [UInt8]) async throws {}

    public func deliveries(_ delivered: @escaping @Sendable (AddressID) async -> Void) async throws {}
}

/// What the service knows about an address.
public struct AddressRecord: Sendable, Equatable {
    public let address: AddressID
    public let authKey: Ed25519.PublicKey
    public let isRetired: Bool

    public init(address: AddressID, authKey: Ed25519.PublicKey, isRetired: Bool) {
        self.address = address
        self.authKey = authKey
        self.isRetired = isRetired
    }
}

/// One message to store: its opened address, its ciphertext, and its envelope's replay tag
/// (`Envelope.replayTag`).
public struct IncomingMessage: Sendable, Equatable {
    public var address: AddressID
    public var ciphertext: [UInt8]
    public var replayTag: [UInt8]

    public init(address: AddressID, ciphertext: [UInt8], replayTag: [UInt8]) {
        self.address = address
        self.ciphertext = ciphertext
        self.replayTag = replayTag
    }
}

public enum DeliveryOutcome: Sendable, Equatable {
    case stored(id: Int64)
    /// This envelope was stored before: nothing changed.
    case replayed
    case unknownAddress
    case retired
    case overMessageQuota
    case overByteQuota
}

public struct SweepResult: Sendable, Equatable {
    public var messages: Int
    public var nonces: Int

    public init(messages: Int, nonces: Int) {
        self.messages = messages
        self.nonces = nonces
    }
}

/// Totals, for tests that prove a refusal stored nothing and for operators.
public struct ReceivingStorageCounts: Sendable, Equatable {
    public var addresses: Int
    public var retiredAddresses: Int
    public var messages: Int
    public var nonces: Int

    public init(addresses: Int, retiredAddresses: Int, messages: Int, nonces: Int) {
        self.addresses = addresses
        self.retiredAddresses = retiredAddresses
        self.messages = messages
        self.nonces = nonces
    }
}
