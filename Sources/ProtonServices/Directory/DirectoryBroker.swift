import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// The brokered directory, switched on per namespace (`serve directory --brokered`): it vends
/// the key packages that holders of attested names publish, under the contact rule each owner
/// chose, and hands out every one-time prekey at most once. Its state is `broker.sqlite`
/// beside the registry's; nothing of it is logged.
public final class DirectoryBroker: @unchecked Sendable {
    public static let databaseFileName = "broker.sqlite"

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

    private let pool: DatabasePool
    private let registry: DirectoryRegistry
    public let limits: BrokerLimits

    public init(dataDirectory: URL, registry: DirectoryRegistry, limits: BrokerLimits = BrokerLimits()) throws {
        pool = try ServiceDatabase.open(
            directory: dataDirectory, fileName: Self.databaseFileName, label: "ProtonBroker", migrator: Self.migrator)
        self.registry = registry
        self.limits = limits
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 broker") { db in
            try db.execute(
                sql: """
                    CREATE TABLE key_package (
                        name TEXT PRIMARY KEY NOT NULL,
                        identity_key BLOB NOT NULL CHECK (length(identity_key) = 32),
                        package BLOB NOT NULL,
                        rule TEXT NOT NULL CHECK (rule IN ('open', 'attested', 'approval')),
                        trusted TEXT NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE one_time_prekey (
                        name TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        prekey BLOB NOT NULL CHECK (length(prekey) = 32),
                        PRIMARY KEY (name, seq)
                    ) WITHOUT ROWID;
                    CREATE TABLE contact_request (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        requester_key BLOB NOT NULL CHECK (length(requester_key) = 32),
                        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
                        created_at INTEGER NOT NULL,
                        UNIQUE (name, requester_key)
                    ) WITHOUT ROWID;
                    CREATE TABLE fetch_event (
                        requester_key BLOB NOT NULL,
                        at REAL NOT NULL
                    );
                    CREATE INDEX fetch_event_by_requester ON fetch_event (requester_key, at);
                    """)
        }
        // Every fetch deletes the events that left the window: by time, across requesters.
        migrator.registerMigration("v2 fetch events by time") { db in
            try db.execute(sql: "CREATE INDEX fetch_event_by_time ON fetch_event (at)")
        }
        // When each name handed out a one-time prekey: a budget per name, not per requester.
        migrator.registerMigration("v3 prekeys taken") { db in
            try db.execute(
                sql: """
                    CREATE TABLE prekey_taken (name TEXT NOT NULL, at REAL NOT NULL);
                    CREATE INDEX prekey_taken_by_name ON prekey_taken (name, at);
                    CREATE INDEX prekey_taken_by_time ON prekey_taken (at);
                    """)
        }
        // A hybrid package's one-time prekeys carry their ML-KEM key and its signature (the
        // entry's last 1,248 bytes), taken with the prekey in the same row.
        migrator.registerMigration("v4 one-time KEM prekeys") { db in
            try db.execute(sql: "ALTER TABLE one_time_prekey ADD COLUMN kem BLOB CHECK (kem IS NULL OR length(kem) = 1248)")
        }
        return migrator
    }

    // MARK: - Owner

    /// Replaces the key package for `name`. The package's identity key must be the key the
    /// name is attested to now (the caller checked the request is signed by it).
    public func publish(name: String, package: KeyPackage, rule: BrokerAPI.ContactRule, trusted: [String], now: Date) async throws -> Int {
        try await requireOwner(name, package.identityKey)
        guard package.expires > now else { throw Refusal.expiredPackage }
        for key in trusted { guard (try? NoteVerifier(verifierKey: key)) != nil else { throw Refusal.invalidTrustedDirectory } }
        let trustedText = String(decoding: try JSONEncoder().encode(trusted), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM one_time_prekey WHERE name = ?", arguments: [name])
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO key_package (name, identity_key, package, rule, trusted, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    name, Data(package.identityKey.rawRepresentation), Data(package.withOneTimePrekeys([]).encoded()), rule.rawValue,
                    trustedText, Int64(package.expires.timeIntervalSince1970),
                ])
            for (seq, entry) in package.oneTimePrekeys.enumerated() {
                try db.execute(
                    sql: "INSERT INTO one_time_prekey (name, seq, prekey, kem) VALUES (?, ?, ?, ?)",
                    arguments: [
                        name, seq, Data(entry.prekey.rawRepresentation), entry.kem.map { Data($0.key.rawRepresentation + $0.signature) },
                    ])
            }
        }
        return package.oneTimePrekeys.count
    }

    public func requests(name: String, owner: Ed25519.PublicKey) async throws -> [BrokerAPI.ContactRequest] {
        try await requireOwner(name, owner)
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, requester_key, state, created_at FROM contact_request WHERE name = ? ORDER BY created_at, id",
                arguments: [name]
            ).map { row in
                BrokerAPI.ContactRequest(
                    id: row["id"], requesterKey: Base64URL.encode([UInt8](row["requester_key"] as Data)), state: row["state"],
                    created: row["created_at"])
            }
        }
    }

    public func decide(name: String, owner: Ed25519.PublicKey, requestID: String, approve: Bool) async throws {
        try await requireOwner(name, owner)
        let changed = try await pool.write { db in
            try db.execute(
                sql: "UPDATE contact_request SET state = ? WHERE id = ? AND name = ?",
                arguments: [approve ? "approved" : "denied", requestID, name])
            return db.changesCount
        }
        guard changed == 1 else { throw Refusal.unknownRequest(requestID) }
    }

    // MARK: - Requester

    /// The key package for `name`, with one one-time prekey taken for good (none once they
    /// run out: the signed prekey alone). Checks, in order: the name is attested to the
    /// package's key, the rate limit, the owner's contact rule. The prekey is taken in the same
    /// write transaction as the rate-limit record, so two fetches never share one.
    public func fetch(name: String, requester: Ed25519.PublicKey, attestation: AttestationBundle?, now: Date) async throws -> (
        package: KeyPackage, oneTimePrekeyIncluded: Bool
    ) {
        guard let binding = try await registry.binding(name), !binding.revoked else { throw Refusal.noPackage(name) }
        // Refusals after the rate-limit record are returned, not thrown, so that the record (and
        // a new contact request) commit: a thrown error would roll them back.
        let outcome: Result<(package: KeyPackage, oneTimePrekeyIncluded: Bool), Refusal> = try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT identity_key, package, rule, trusted, expires_at FROM key_package WHERE name = ?", arguments: [name]),
                [UInt8](row["identity_key"] as Data) == binding.identityKey.rawRepresentation
            else { throw Refusal.noPackage(name) }
            guard Int64(now.timeIntervalSince1970) < row["expires_at"] as Int64 else { throw Refusal.noPackage(name) }

            let windowStart = now.timeIntervalSince1970 - limits.window
            try db.execute(sql: "DELETE FROM fetch_event WHERE at < ?", arguments: [windowStart])
            let recent = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM fetch_event WHERE requester_key = ? AND at >= ?",
                arguments: [Data(requester.rawRepresentation), windowStart]) ?? 0
            guard recent < limits.fetchesPerRequester else {
                let oldest = try Double.fetchOne(
                    db, sql: "SELECT min(at) FROM fetch_event WHERE requester_key = ?", arguments: [Data(requester.rawRepresentation)]) ?? now.timeIntervalSince1970
                throw Refusal.rateLimited(retryAfter: max(1, Int((oldest + limits.window - now.timeIntervalSince1970).rounded(.up))))
            }
            try db.execute(
                sql: "INSERT INTO fetch_event (requester_key, at) VALUES (?, ?)",
                arguments: [Data(requester.rawRepresentation), now.timeIntervalSince1970])

            let rule = BrokerAPI.ContactRule(rawValue: row["rule"]) ?? .approval
            switch rule {
            case .open:
                break
            case .attested:
                let trustedText: String = row["trusted"]
                let trusted = (try? JSONDecoder().decode([String].self, from: Data(trustedText.utf8))) ?? []
                let verifiers = trusted.isEmpty ? [registry.verifier] : trusted.compactMap { try? NoteVerifier(verifierKey: $0) }
                guard let attestation, attestation.attestation.identityKey == requester,
                    verifiers.contains(where: { verifier in (try? attestation.verify(directory: verifier, now: now)) != nil })
                else { return .failure(Refusal.notAllowedToContact(name)) }
            case .approval:
                let request = try Row.fetchOne(
                    db, sql: "SELECT id, state FROM contact_request WHERE name = ? AND requester_key = ?",
                    arguments: [name, Data(requester.rawRepresentation)])
                switch request?["state"] as String? {
                case "approved":
                    break
                case "denied":
                    return .failure(Refusal.notAllowedToContact(name))
                case "pending":
                    return .failure(Refusal.pendingApproval(requestID: request!["id"]))
                default:
                    let pending = try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM contact_request WHERE name = ? AND state = 'pending'", arguments: [name]) ?? 0
                    guard pending < limits.pendingRequestsPerName else { return .failure(Refusal.tooManyPendingRequests(name)) }
                    // Hex, not base64url: an id starting with '-' would read as an option on a command line.
                    let id = SystemRandom().bytes(16).map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
                    try db.execute(
                        sql: "INSERT INTO contact_request (id, name, requester_key, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
                        arguments: [id, name, Data(requester.rawRepresentation), Int64(now.timeIntervalSince1970)])
                    return .failure(Refusal.pendingApproval(requestID: id))
                }
            }

            let base = try KeyPackage(decoding: [UInt8](row["package"] as Data))
            try db.execute(sql: "DELETE FROM prekey_taken WHERE at < ?", arguments: [windowStart])
            let taken = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM prekey_taken WHERE name = ? AND at >= ?", arguments: [name, windowStart]) ?? 0
            guard taken < limits.oneTimePrekeysPerName else { return .success((base, false)) }
            guard let prekeyRow = try Row.fetchOne(
                db, sql: "SELECT seq, prekey, kem FROM one_time_prekey WHERE name = ? ORDER BY seq LIMIT 1", arguments: [name])
            else { return .success((base, false)) }
            try db.execute(sql: "DELETE FROM one_time_prekey WHERE name = ? AND seq = ?", arguments: [name, prekeyRow["seq"] as Int64])
            try db.execute(sql: "INSERT INTO prekey_taken (name, at) VALUES (?, ?)", arguments: [name, now.timeIntervalSince1970])
            let prekey = try X25519.PublicKey(rawRepresentation: [UInt8](prekeyRow["prekey"] as Data))
            // Stored from a package that verified: the key parses and the signature is its own.
            let kem = try (prekeyRow["kem"] as Data?).map { data in
                let bytes = [UInt8](data)
                return KeyPackage.SignedKEMPrekey(
                    key: try MLKEM.PublicKey(rawRepresentation: Array(bytes.prefix(MLKEM.publicKeyByteCount))),
                    signature: Array(bytes.dropFirst(MLKEM.publicKeyByteCount)))
            }
            return .success((base.withOneTimePrekeys([KeyPackage.OneTimePrekey(prekey: prekey, kem: kem)]), true))
        }
        return try outcome.get()
    }

    /// How many one-time prekeys are left for `name`.
    public func remainingPrekeys(name: String) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM one_time_prekey WHERE name = ?", arguments: [name]) ?? 0 }
    }

    public func close() { ServiceDatabase.close(pool) }

    private func requireOwner(_ name: String, _ key: Ed25519.PublicKey) async throws {
        guard let binding = try await registry.binding(name), !binding.revoked else { throw Refusal.notAttested(name) }
        guard binding.identityKey == key else { throw Refusal.wrongKey(name) }
    }
}
