import Foundation
import Logging
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// The brokered directory, switched on per namespace (`serve directory --brokered`): it vends
/// the key packages that holders of attested names publish, under the contact rule each owner
/// chose, and hands out every one-time prekey at most once. These are its rules; its state is
/// in a `BrokerStorage` beside the registry's (`broker.sqlite`, or the directory's PostgreSQL
/// database). Nothing of it is logged.
public final class DirectoryBroker: Sendable {
    public enum Refusal: Error, Equatable, Sendable {
        case notAttested(String)
        case wrongKey(String)
        case expiredPackage
        case noPackage(String)
        case notAllowedToContact(String)
        case pendingApproval(requestID: String)
        case rateLimited(retryAfter: Int)
        case tooManyPendingRequests(String)
        case unknownRequest(String)
        case invalidTrustedDirectory
    }

    private let storage: any BrokerStorage
    private let registry: DirectoryRegistry
    public let limits: BrokerLimits

    /// The broker beside `registry`: in `broker.sqlite` in `dataDirectory`, or in the
    /// registry's PostgreSQL database when it has one.
    public static func open(dataDirectory: URL, registry: DirectoryRegistry, limits: BrokerLimits = BrokerLimits()) async throws
        -> DirectoryBroker
    {
        let storage: any BrokerStorage =
            if let directoryStorage = registry.storage as? PostgresDirectoryStorage {
                try await PostgresBrokerStorage.open(sharing: directoryStorage.database)
            } else {
                try SQLiteBrokerStorage(dataDirectory: dataDirectory)
            }
        return DirectoryBroker(storage: storage, registry: registry, limits: limits)
    }

    private init(storage: any BrokerStorage, registry: DirectoryRegistry, limits: BrokerLimits) {
        self.storage = storage
        self.registry = registry
        self.limits = limits
    }

    // MARK: - Owner

    /// Replaces the key package for `name`. The package's identity key must be the key the
    /// name is attested to now (the caller checked the request is signed by it).
    public func publish(name: String, package: KeyPackage, rule: BrokerAPI.ContactRule, trusted: [String], now: Date) async throws -> Int {
        try await requireOwner(name, package.identityKey)
        guard package.expires > now else { throw Refusal.expiredPackage }
        for key in trusted { guard (try? NoteVerifier(verifierKey: key)) != nil else { throw Refusal.invalidTrustedDirectory } }
        try await storage.publish(
            BrokerStorageEntry(
                name: name, identityKey: package.identityKey.rawRepresentation, package: package.withOneTimePrekeys([]).encoded(), rule: rule.rawValue,
                trusted: String(decoding: try JSONEncoder().encode(trusted), as: UTF8.self), expiresAt: Int64(package.expires.timeIntervalSince1970)),
            prekeys: package.oneTimePrekeys.map { entry in
                BrokerStorageEntry.Prekey(prekey: entry.prekey.rawRepresentation, kem: entry.kem.map { $0.key.rawRepresentation + $0.signature })
            })
        return package.oneTimePrekeys.count
    }

    public func requests(name: String, owner: Ed25519.PublicKey) async throws -> [BrokerAPI.ContactRequest] {
        try await requireOwner(name, owner)
        return try await storage.requests(name: name)
    }

    public func decide(name: String, owner: Ed25519.PublicKey, requestID: String, approve: Bool) async throws {
        try await requireOwner(name, owner)
        // Ids are 32 hex digits: anything else names no request, on either storage.
        guard requestID.utf8.count == 32, requestID.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            try await storage.decide(name: name, requestID: requestID, approve: approve)
        else { throw Refusal.unknownRequest(requestID) }
    }

    // MARK: - Requester

    /// The key package for `name`, with one one-time prekey taken for good (none once they
    /// run out: the signed prekey alone). Checks, in order: the name is attested to the
    /// package's key, the rate limit, the owner's contact rule. What the fetch finds and what
    /// it records (the rate-limit record, a new contact request, the prekey taken) are one
    /// transaction of the storage, so two fetches never share a prekey and no limit is passed.
    public func fetch(name: String, requester: Ed25519.PublicKey, attestation: AttestationBundle?, now: Date) async throws -> (
        package: KeyPackage, oneTimePrekeyIncluded: Bool
    ) {
        guard let binding = try await registry.binding(name), !binding.revoked else { throw Refusal.noPackage(name) }
        let decision = try await storage.fetch(name: name, requester: requester.rawRepresentation, now: now, window: limits.window) {
            [limits, verifier = registry.verifier] facts in
            try Self.rules(
                facts, name: name, attestedKey: binding.identityKey, requester: requester, attestation: attestation, now: now, limits: limits,
                ownVerifier: verifier)
        }
        return try decision.outcome.get()
    }

    /// How many one-time prekeys are left for `name`.
    public func remainingPrekeys(name: String) async throws -> Int {
        try await storage.remainingPrekeys(name: name)
    }

    public func close() { storage.close() }

    private func requireOwner(_ name: String, _ key: Ed25519.PublicKey) async throws {
        guard let binding = try await registry.binding(name), !binding.revoked else { throw Refusal.notAttested(name) }
        guard binding.identityKey == key else { throw Refusal.wrongKey(name) }
    }

    /// What a fetch makes of what it found. Throws (recording nothing) when there is no
    /// package for the attested key or the requester is over its limit; every other refusal is
    /// an outcome, so that the rate-limit record and a new contact request are kept.
    static func rules(
        _ facts: BrokerFetchFacts, name: String, attestedKey: Ed25519.PublicKey, requester: Ed25519.PublicKey, attestation: AttestationBundle?,
        now: Date, limits: BrokerLimits, ownVerifier: NoteVerifier
    ) throws -> BrokerFetchDecision {
        guard let stored = facts.package, stored.identityKey == attestedKey.rawRepresentation else { throw Refusal.noPackage(name) }
        guard Int64(now.timeIntervalSince1970) < stored.expiresAt else { throw Refusal.noPackage(name) }
        guard facts.recentFetches < limits.fetchesPerRequester else {
            let oldest = facts.oldestFetch ?? now.timeIntervalSince1970
            throw Refusal.rateLimited(retryAfter: max(1, Int((oldest + limits.window - now.timeIntervalSince1970).rounded(.up))))
        }
        func refused(_ refusal: Refusal, newRequest: String? = nil) -> BrokerFetchDecision {
            BrokerFetchDecision(newRequestID: newRequest, takePrekey: nil, outcome: .failure(refusal))
        }
        switch BrokerAPI.ContactRule(rawValue: stored.rule) ?? .approval {
        case .open:
            break
        case .attested:
            let trusted = (try? JSONDecoder().decode([String].self, from: Data(stored.trusted.utf8))) ?? []
            let verifiers = trusted.isEmpty ? [ownVerifier] : trusted.compactMap { try? NoteVerifier(verifierKey: $0) }
            guard let attestation, attestation.attestation.identityKey == requester,
                verifiers.contains(where: { verifier in (try? attestation.verify(directory: verifier, now: now)) != nil })
            else { return refused(.notAllowedToContact(name)) }
        case .approval:
            switch facts.request?.state {
            case "approved":
                break
            case "denied":
                return refused(.notAllowedToContact(name))
            case "pending":
                return refused(.pendingApproval(requestID: facts.request?.id ?? ""))
            default:
                guard facts.pendingRequests < limits.pendingRequestsPerName else { return refused(.tooManyPendingRequests(name)) }
                // Hex, not base64url: an id starting with '-' would read as an option on a command line.
                let id = SystemRandom().bytes(16).map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
                return refused(.pendingApproval(requestID: id), newRequest: id)
            }
        }
        let base = try KeyPackage(decoding: stored.package)
        guard facts.prekeysTaken < limits.oneTimePrekeysPerName, let prekey = facts.prekey else {
            return BrokerFetchDecision(newRequestID: nil, takePrekey: nil, outcome: .success((base, false)))
        }
        // Stored from a package that verified: the key parses and the signature is its own.
        let kem = try prekey.kem.map { bytes in
            KeyPackage.SignedKEMPrekey(
                key: try MLKEM.PublicKey(rawRepresentation: Array(bytes.prefix(MLKEM.publicKeyByteCount))),
                signature: Array(bytes.dropFirst(MLKEM.publicKeyByteCount)))
        }
        let oneTime = KeyPackage.OneTimePrekey(prekey: try X25519.PublicKey(rawRepresentation: prekey.prekey), kem: kem)
        return BrokerFetchDecision(newRequestID: nil, takePrekey: prekey.seq, outcome: .success((base.withOneTimePrekeys([oneTime]), true)))
    }
}

/// Where a brokered directory keeps key packages, one-time prekeys, contact requests, and the
/// records its limits count.
protocol BrokerStorage: Sendable {
    /// Replaces `entry.name`'s package and its one-time prekeys; a package for another identity
    /// key (the name changed hands) also drops the contact requests the previous holder decided.
    func publish(_ entry: BrokerStorageEntry, prekeys: [BrokerStorageEntry.Prekey]) async throws
    func requests(name: String) async throws -> [BrokerAPI.ContactRequest]
    /// False when `name` has no request `requestID`.
    func decide(name: String, requestID: String, approve: Bool) async throws -> Bool
    /// In one transaction: drops records older than `window`, reads what the rules need,
    /// lets `rules` decide, and records what they decided (a fetch by `requester`, a contact
    /// request, the prekey taken); nothing is recorded if `rules` throws.
    func fetch(
        name: String, requester: [UInt8], now: Date, window: TimeInterval, _ rules: @escaping @Sendable (BrokerFetchFacts) throws -> BrokerFetchDecision
    ) async throws -> BrokerFetchDecision
    func remainingPrekeys(name: String) async throws -> Int
    func close()
}

/// A key package as stored: without its one-time prekeys, which are rows of their own.
struct BrokerStorageEntry: Sendable {
    struct Prekey: Sendable {
        let prekey: [UInt8]
        /// The ML-KEM key and its signature, 1,248 bytes, for a hybrid package.
        let kem: [UInt8]?
    }

    let name: String
    let identityKey: [UInt8]
    let package: [UInt8]
    let rule: String
    /// JSON: the verifier keys the `attested` rule accepts.
    let trusted: String
    let expiresAt: Int64
}

/// What a fetch finds in its transaction: the name's package, the requester's fetches in the
/// window, its contact request, the name's pending requests and prekeys taken in the window,
/// and its next one-time prekey.
struct BrokerFetchFacts: Sendable {
    struct Request: Sendable {
        let id: String
        let state: String
    }

    struct Prekey: Sendable {
        let seq: Int64
        let prekey: [UInt8]
        let kem: [UInt8]?
    }

    var package: BrokerStorageEntry?
    var recentFetches: Int
    var oldestFetch: Double?
    var request: Request?
    var pendingRequests: Int
    var prekeysTaken: Int
    var prekey: Prekey?
}

/// What the rules decided; the fetch is recorded with it.
struct BrokerFetchDecision: Sendable {
    /// A contact request to create, pending, with this id.
    let newRequestID: String?
    /// The one-time prekey (by sequence number) handed out.
    let takePrekey: Int64?
    let outcome: Result<(package: KeyPackage, oneTimePrekeyIncluded: Bool), DirectoryBroker.Refusal>
}
