import Foundation
import Logging
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// The directory's rules: who may bind which name to which key, when a statement is logged,
/// and what a bundle holds. Its state is in a `DirectoryStorage` (SQLite files in the data
/// directory, or a PostgreSQL database that many instances share), and every change runs as the
/// storage's only change in progress: it checks first, appends second, and indexes with the
/// append. The service and the operator's commands (`proton directory approve|allow`) each
/// open one on the same storage.
public final class DirectoryRegistry: Sendable {
    /// How long an attestation is valid; registering the same key again renews it once less
    /// than `renewalWindow` is left.
    public static let defaultAttestationLifetime: TimeInterval = 365 * 86_400
    public static let renewalWindow: TimeInterval = 30 * 86_400
    /// An attestation's `issued` is set this far before now, so that a client whose clock is a
    /// little behind the directory's does not refuse a fresh attestation as not yet valid (as
    /// certificate authorities backdate notBefore).
    public static let clockSkewAllowance: TimeInterval = 300
    /// Pending registrations (approve policy) a directory holds at most: anyone can make keys,
    /// so without a bound the operator's queue and the database grow without end.
    public static let maximumPendingRegistrations = 10_000

    public let namespace: String
    public let key: DirectoryKey
    public let storage: any DirectoryStorage
    public let attestationLifetime: TimeInterval
    public var origin: String { key.name }
    public var verifier: NoteVerifier { key.verifier }

    /// Opens the directory whose key and namespace are in `dataDirectory`, with its state in
    /// `database` if given (every instance that shares it needs the same key and namespace),
    /// else in SQLite files beside them. `namespace` is required the first time and must match
    /// afterwards; the operator's commands pass nil and read it from the data directory.
    public static func open(
        dataDirectory: URL, namespace requested: String?, database: PostgresLocation? = nil,
        attestationLifetime: TimeInterval = defaultAttestationLifetime, now: Date = Date(),
        logger: Logger = Logger(label: "proton.directory.postgres")
    ) async throws -> DirectoryRegistry {
        let namespace = try DirectoryDataFiles.namespace(in: dataDirectory, requested: requested, now: now)
        let key = try DirectoryDataFiles.loadOrCreateKey(in: dataDirectory, name: DirectoryNames.origin(namespace: namespace))
        let storage: any DirectoryStorage
        if let database {
            let postgres = try await PostgresDirectoryStorage.open(database, namespace: namespace, verifierKey: key.verifier.verifierKey, logger: logger)
            do { try DirectoryDataFiles.checkStorage(in: dataDirectory, databaseID: postgres.directoryID) } catch {
                postgres.close()
                throw error
            }
            storage = postgres
        } else {
            try DirectoryDataFiles.checkStorage(in: dataDirectory, databaseID: nil)
            storage = try SQLiteDirectoryStorage(dataDirectory: dataDirectory, namespace: namespace)
        }
        return DirectoryRegistry(namespace: namespace, key: key, storage: storage, attestationLifetime: attestationLifetime)
    }

    private init(namespace: String, key: DirectoryKey, storage: any DirectoryStorage, attestationLifetime: TimeInterval) {
        self.namespace = namespace
        self.key = key
        self.storage = storage
        self.attestationLifetime = attestationLifetime
    }

    /// The verifier key clients pin, read from a data directory a directory has used.
    public static func verifierKey(dataDirectory: URL) throws -> String {
        let namespace = try DirectoryDataFiles.namespace(in: dataDirectory, requested: nil, now: Date())
        return try DirectoryDataFiles.loadOrCreateKey(in: dataDirectory, name: DirectoryNames.origin(namespace: namespace)).verifier.verifierKey
    }

    // MARK: - Reading

    public struct Binding: Sendable, Equatable {
        public let name: String
        public let identityKey: Ed25519.PublicKey
        public let revoked: Bool
        public let logIndex: UInt64
    }

    public struct PendingRegistration: Sendable, Equatable {
        public let name: String
        public let identityKey: Ed25519.PublicKey
        public let requested: Date
    }

    public func binding(_ name: String) async throws -> Binding? {
        try await storage.binding(name)
    }

    public func pending() async throws -> [PendingRegistration] {
        try await storage.pending()
    }

    /// The current statement for `name` with its inclusion proof in `checkpoint` (a cosigned
    /// one, with witnesses), by default a freshly signed checkpoint of the whole log.
    public func bundle(for binding: Binding, in checkpoint: SignedCheckpoint? = nil) async throws -> AttestationBundle {
        let attestation = try Attestation(decoding: await storage.leaf(at: binding.logIndex))
        let signed: SignedCheckpoint
        if let checkpoint { signed = checkpoint } else { signed = try await signedCheckpoint() }
        let proof = try await storage.inclusionProof(index: binding.logIndex, size: signed.checkpoint.size)
        return AttestationBundle(attestation: attestation, proof: proof, checkpoint: signed)
    }

    /// The log's current checkpoint, signed. The size and root are read together.
    public func signedCheckpoint() async throws -> SignedCheckpoint {
        try key.sign(await storage.checkpoint(origin: origin))
    }

    // MARK: - Changes

    public enum Outcome: Sendable, Equatable {
        /// A new statement was logged at this index.
        case logged(Binding)
        /// The name already had this key and a statement valid long enough: nothing was logged.
        case unchanged(Binding)
        /// Waiting for the operator; nothing was logged.
        case pending
    }

    /// A registration whose proof of possession the caller has checked.
    public func register(name: String, identityKey: Ed25519.PublicKey, policy: DirectoryPolicy, now: Date) async throws -> Outcome {
        try checkName(name)
        return try await storage.change { change in
            if let current = try await change.binding(name), !current.revoked {
                guard current.identityKey == identityKey else { throw DirectoryRefusal.nameTaken(name) }
                let attestation = try Attestation(decoding: await change.leaf(at: current.logIndex))
                if attestation.expires.timeIntervalSince(now) > Self.renewalWindow { return .unchanged(current) }
                return .logged(try await self.append(.attestation, name: name, key: identityKey, previous: nil, now: now, change))
            }
            switch policy {
            case .open:
                break
            case .allowlist:
                guard let allowance = try await change.allowance(name) else { throw DirectoryRefusal.notAllowed(name) }
                if let pinned = allowance.pinnedKey, pinned != identityKey { throw DirectoryRefusal.notAllowed(name) }
            case .approve:
                if let pending = try await change.pendingKey(name) {
                    guard pending == identityKey else { throw DirectoryRefusal.nameTaken(name) }
                    return .pending
                }
                guard try await change.pendingCount() < Self.maximumPendingRegistrations else { throw DirectoryRefusal.tooManyPending }
                try await change.addPending(name, identityKey: identityKey, now: now)
                return .pending
            }
            return .logged(try await self.append(.attestation, name: name, key: identityKey, previous: nil, now: now, change))
        }
    }

    /// The operator approves the pending registration for `name`.
    public func approve(name: String, now: Date) async throws -> Binding {
        try checkName(name)
        return try await storage.change { change in
            guard let identityKey = try await change.pendingKey(name) else { throw DirectoryRefusal.noPendingRegistration(name) }
            if let current = try await change.binding(name), !current.revoked {
                guard current.identityKey == identityKey else { throw DirectoryRefusal.nameTaken(name) }
                _ = try await change.removePending(name)
                return current
            }
            let binding = try await self.append(.attestation, name: name, key: identityKey, previous: nil, now: now, change)
            _ = try await change.removePending(name)
            return binding
        }
    }

    /// The operator refuses the pending registration for `name`.
    public func deny(name: String) async throws {
        try checkName(name)
        try await storage.change { change in
            guard try await change.removePending(name) else { throw DirectoryRefusal.noPendingRegistration(name) }
        }
    }

    /// The operator puts `name` on the allowlist, for any key or for `identityKey` only.
    public func allow(name: String, identityKey: Ed25519.PublicKey?, now: Date) async throws {
        try checkName(name)
        try await storage.change { change in
            try await change.allow(name, identityKey.map { .only($0) } ?? .anyKey, now: now)
        }
    }

    /// The holder of `name` revokes it; a revocation is logged and the name is free again.
    public func revoke(name: String, identityKey: Ed25519.PublicKey, now: Date) async throws -> Binding {
        try checkName(name)
        return try await storage.change { change in
            guard let current = try await change.binding(name), !current.revoked else { throw DirectoryRefusal.notRegistered(name) }
            guard current.identityKey == identityKey else { throw DirectoryRefusal.notOwner(name) }
            return try await self.append(.revocation, name: name, key: identityKey, previous: nil, now: now, change)
        }
    }

    /// The holder of `name` moves it to `newKey` (both keys signed the request).
    public func changeKey(name: String, from oldKey: Ed25519.PublicKey, to newKey: Ed25519.PublicKey, now: Date) async throws -> Binding {
        try checkName(name)
        guard oldKey != newKey else { throw DirectoryRefusal.sameKey }
        return try await storage.change { change in
            guard let current = try await change.binding(name), !current.revoked else { throw DirectoryRefusal.notRegistered(name) }
            guard current.identityKey == oldKey else { throw DirectoryRefusal.notOwner(name) }
            return try await self.append(.keyChange, name: name, key: newKey, previous: oldKey, now: now, change)
        }
    }

    /// Records a request nonce; false when it was seen before (a replay). Old nonces are dropped.
    public func recordNonce(_ nonce: [UInt8], expires: Date, now: Date) async throws -> Bool {
        try await storage.recordNonce(nonce, expires: expires, now: now)
    }

    public func close() {
        storage.close()
    }

    // MARK: - Internals

    private func checkName(_ name: String) throws {
        guard DirectoryNames.isValidName(name) else { throw DirectoryRefusal.invalidName(name) }
    }

    /// Appends one statement that names its own index, and indexes it, within `change`.
    private func append(
        _ kind: Attestation.Kind, name: String, key identityKey: Ed25519.PublicKey, previous: Ed25519.PublicKey?, now: Date,
        _ change: any DirectoryChange
    ) async throws -> Binding {
        let binding = Binding(name: name, identityKey: identityKey, revoked: kind == .revocation, logIndex: 0)
        let index = try await change.append(binding) { [namespace, key, attestationLifetime] index in
            try Attestation(
                kind: kind, namespace: namespace, name: name, identityKey: identityKey, previousKey: previous,
                issued: now.addingTimeInterval(-Self.clockSkewAllowance), expires: now.addingTimeInterval(attestationLifetime),
                logIndex: index, signedBy: key
            ).encoded()
        }
        return Binding(name: name, identityKey: identityKey, revoked: kind == .revocation, logIndex: index)
    }
}
