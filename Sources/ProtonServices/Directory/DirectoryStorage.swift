import Foundation
import ProtonCrypto
import ProtonDirectory

/// Where a directory keeps its transparency log, the index of each name's latest statement, and
/// what is not logged (pending registrations, the allowlist, request nonces): SQLite files in
/// its data directory (`SQLiteDirectoryStorage`), or one PostgreSQL database that any number of
/// directory instances share (`PostgresDirectoryStorage`). The rules are `DirectoryRegistry`'s;
/// a storage keeps the state, answers reads from one snapshot, and runs changes one at a time.
public protocol DirectoryStorage: Sendable {
    /// The leaf at `index`, as appended.
    func leaf(at index: UInt64) async throws -> [UInt8]
    /// RFC 9162 section 2.1.3.1, for a size up to the log's.
    func inclusionProof(index: UInt64, size: UInt64) async throws -> InclusionProof
    /// RFC 9162 section 2.1.4.1, for sizes up to the log's.
    func consistencyProof(from: UInt64, to: UInt64) async throws -> ConsistencyProof
    /// The log's size and root, read together.
    func checkpoint(origin: String) async throws -> Checkpoint
    /// `name`'s latest statement.
    func binding(_ name: String) async throws -> DirectoryRegistry.Binding?
    func pending() async throws -> [DirectoryRegistry.PendingRegistration]
    /// Records a request nonce; false when it was seen before. Expired ones are dropped.
    func recordNonce(_ nonce: [UInt8], expires: Date, now: Date) async throws -> Bool
    /// Runs `body` as the only change to the directory in progress, across every process and
    /// instance that shares this storage, so that what it checks still holds when it appends.
    func change<T: Sendable>(_ body: @escaping @Sendable (any DirectoryChange) async throws -> T) async throws -> T
    func close()
}

/// What a change (`DirectoryStorage.change`) reads and writes.
public protocol DirectoryChange: Sendable {
    func binding(_ name: String) async throws -> DirectoryRegistry.Binding?
    func leaf(at index: UInt64) async throws -> [UInt8]
    /// Whether `name` is on the allowlist, and for which key.
    func allowance(_ name: String) async throws -> DirectoryAllowance?
    func allow(_ name: String, _ allowance: DirectoryAllowance, now: Date) async throws
    /// The key a pending registration of `name` is for.
    func pendingKey(_ name: String) async throws -> Ed25519.PublicKey?
    func pendingCount() async throws -> Int
    func addPending(_ name: String, identityKey: Ed25519.PublicKey, now: Date) async throws
    /// False when there was none.
    func removePending(_ name: String) async throws -> Bool
    /// Appends the leaf `statement` makes for the index it gets and indexes it as `binding`'s
    /// name's latest statement; `binding`'s index is replaced by the leaf's. Returns the index.
    func append(_ binding: DirectoryRegistry.Binding, statement: @escaping @Sendable (UInt64) throws -> [UInt8]) async throws -> UInt64
}

/// A name on the allowlist: for any key that proves possession first, or for one key only.
public enum DirectoryAllowance: Sendable, Equatable {
    case anyKey
    case only(Ed25519.PublicKey)

    var pinnedKey: Ed25519.PublicKey? {
        if case .only(let key) = self { key } else { nil }
    }
}
