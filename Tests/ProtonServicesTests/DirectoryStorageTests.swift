import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import PostgresNIO
import ProtonServices
import Testing

/// The directory's registry on either storage: the same rules, the same log, the same answers
/// to reads past its end; on PostgreSQL, instances that append at once keep one log.
@Suite struct DirectoryStorageTests {
    @Test(arguments: StorageBackend.allCases) func theRulesAndTheLogAreTheSameOnEitherStorage(backend: StorageBackend) async throws {
        let registry = try await DirectoryRegistry.open(
            dataDirectory: temporaryDirectory("directory-rules"), namespace: "example.org", database: backend.database())
        defer { registry.close() }
        let now = Date()
        let alice = Ed25519.PrivateKey().publicKey
        let bob = Ed25519.PrivateKey().publicKey

        // Open: the first key to prove possession; the same key again changes nothing.
        let first = try await registry.register(name: "alice", identityKey: alice, policy: .open, now: now)
        guard case .logged(let alicesBinding) = first else { Issue.record("not logged: \(first)"); return }
        #expect(alicesBinding.logIndex == 0)
        #expect(try await registry.register(name: "alice", identityKey: alice, policy: .open, now: now) == .unchanged(alicesBinding))
        await #expect(throws: DirectoryRefusal.nameTaken("alice")) {
            try await registry.register(name: "alice", identityKey: bob, policy: .open, now: now)
        }

        // Allowlist: a listed name, for its pinned key only.
        await #expect(throws: DirectoryRefusal.notAllowed("carol")) {
            try await registry.register(name: "carol", identityKey: bob, policy: .allowlist, now: now)
        }
        try await registry.allow(name: "carol", identityKey: bob, now: now)
        await #expect(throws: DirectoryRefusal.notAllowed("carol")) {
            try await registry.register(name: "carol", identityKey: alice, policy: .allowlist, now: now)
        }
        guard case .logged(let carolsBinding) = try await registry.register(name: "carol", identityKey: bob, policy: .allowlist, now: now) else {
            Issue.record("carol not logged")
            return
        }
        #expect(carolsBinding.logIndex == 1)

        // Approve: pending until the operator approves; denied leaves nothing.
        #expect(try await registry.register(name: "dana", identityKey: alice, policy: .approve, now: now) == .pending)
        #expect(try await registry.register(name: "dana", identityKey: alice, policy: .approve, now: now) == .pending)
        await #expect(throws: DirectoryRefusal.nameTaken("dana")) {
            try await registry.register(name: "dana", identityKey: bob, policy: .approve, now: now)
        }
        #expect(try await registry.pending().map(\.name) == ["dana"])
        #expect(try await registry.approve(name: "dana", now: now).logIndex == 2)
        await #expect(throws: DirectoryRefusal.noPendingRegistration("dana")) { try await registry.approve(name: "dana", now: now) }
        #expect(try await registry.register(name: "erin", identityKey: bob, policy: .approve, now: now) == .pending)
        try await registry.deny(name: "erin")
        await #expect(throws: DirectoryRefusal.noPendingRegistration("erin")) { try await registry.deny(name: "erin") }
        #expect(try await registry.pending().isEmpty)
        #expect(try await registry.binding("erin") == nil)

        // The holder moves the name, then revokes it; nobody else can.
        #expect(try await registry.changeKey(name: "alice", from: alice, to: bob, now: now).logIndex == 3)
        await #expect(throws: DirectoryRefusal.notOwner("alice")) { try await registry.revoke(name: "alice", identityKey: alice, now: now) }
        #expect(try await registry.revoke(name: "alice", identityKey: bob, now: now).logIndex == 4)
        #expect(try await registry.binding("alice")?.revoked == true)
        await #expect(throws: DirectoryRefusal.notRegistered("alice")) { try await registry.revoke(name: "alice", identityKey: bob, now: now) }

        // A nonce is accepted once.
        #expect(try await registry.recordNonce([7, 7, 7], expires: now.addingTimeInterval(600), now: now))
        #expect(try await !registry.recordNonce([7, 7, 7], expires: now.addingTimeInterval(600), now: now))

        // The log: five statements, each naming its own index, answered as a log rebuilt in
        // memory from the same leaves answers.
        let reference = InMemoryTransparencyLog()
        for index in 0..<UInt64(5) {
            let leaf = try await registry.storage.leaf(at: index)
            #expect(try Attestation(decoding: leaf).logIndex == index)
            try reference.append(leaf)
        }
        let checkpoint = try await registry.signedCheckpoint()
        #expect(checkpoint.checkpoint.size == 5)
        #expect(checkpoint.checkpoint.rootHash == (try reference.root(size: 5)))
        for size in UInt64(1)...5 {
            for index in 0..<size {
                #expect(try await registry.storage.inclusionProof(index: index, size: size) == reference.inclusionProof(index: index, size: size))
            }
            for from in 0...size {
                #expect(try await registry.storage.consistencyProof(from: from, to: size) == reference.consistencyProof(from: from, to: size))
            }
        }
        try await registry.bundle(for: carolsBinding).verify(directory: registry.verifier, now: now)

        // Reads past the end are refused alike.
        await #expect(throws: TransparencyLogError.indexOutOfRange(index: 5, size: 5)) { try await registry.storage.leaf(at: 5) }
        await #expect(throws: TransparencyLogError.sizeBeyondLog(requested: 6, size: 5)) {
            try await registry.storage.inclusionProof(index: 0, size: 6)
        }
        await #expect(throws: TransparencyLogError.indexOutOfRange(index: 5, size: 5)) {
            try await registry.storage.inclusionProof(index: 5, size: 5)
        }
        await #expect(throws: TransparencyLogError.sizesOutOfOrder(from: 4, to: 3)) { try await registry.storage.consistencyProof(from: 4, to: 3) }
    }

    /// Two instances (each its own connection pool) register 200 names at once, taking a signed
    /// checkpoint after each: one log of 200 statements, each at the index it names, and every
    /// checkpoint either instance signed is consistent with the final tree, so every checkpoint
    /// is consistent with every later one (two prefixes of one tree).
    @Test func twoInstancesAppendingAtOnceKeepOneLog() async throws {
        let database = try await TestPostgres.newDatabase()
        let data = temporaryDirectory("directory-instances")
        let first = try await DirectoryRegistry.open(dataDirectory: data, namespace: "example.org", database: database)
        defer { first.close() }
        let second = try await DirectoryRegistry.open(dataDirectory: data, namespace: "example.org", database: database)
        defer { second.close() }
        let count = 200
        let keys = (0..<count).map { _ in Ed25519.PrivateKey().publicKey }
        let taken = try await withThrowingTaskGroup(of: Checkpoint.self) { group in
            for index in 0..<count {
                let registry = index % 2 == 0 ? first : second
                let key = keys[index]
                group.addTask {
                    let outcome = try await registry.register(name: "n\(index)", identityKey: key, policy: .open, now: Date())
                    guard case .logged = outcome else { throw DirectoryRefusal.notRegistered("n\(index)") }
                    return try await registry.signedCheckpoint().checkpoint
                }
            }
            return try await group.reduce(into: [Checkpoint]()) { $0.append($1) }
        }

        let final = try await first.signedCheckpoint().checkpoint
        #expect(final.size == UInt64(count))
        var names = Set<String>()
        for index in 0..<UInt64(count) {
            let attestation = try Attestation(decoding: await second.storage.leaf(at: index))
            #expect(attestation.logIndex == index)
            names.insert(attestation.name)
            #expect(try await first.binding(attestation.name)?.logIndex == index)
        }
        #expect(names.count == count)
        #expect(taken.count == count)
        for checkpoint in taken {
            let proof = try await second.storage.consistencyProof(from: checkpoint.size, to: final.size)
            #expect(throws: Never.self) { try proof.verify(firstRoot: checkpoint.rootHash, secondRoot: final.rootHash) }
        }
    }

    /// A database holds one directory's log: an instance with another key or namespace is
    /// refused before it serves anything.
    @Test func aDatabaseRefusesAnotherDirectory() async throws {
        let database = try await TestPostgres.newDatabase()
        let owner = temporaryDirectory("directory-owner")
        let registry = try await DirectoryRegistry.open(dataDirectory: owner, namespace: "example.org", database: database)
        registry.close()
        await #expect(throws: PostgresDatabaseError.self) {
            _ = try await DirectoryRegistry.open(dataDirectory: temporaryDirectory("directory-other-key"), namespace: "example.org", database: database)
        }
        // The same key for another namespace.
        let other = temporaryDirectory("directory-other-namespace")
        try FileManager.default.copyItem(at: owner.appendingPathComponent("directory-key"), to: other.appendingPathComponent("directory-key"))
        await #expect(throws: PostgresDatabaseError.self) {
            _ = try await DirectoryRegistry.open(dataDirectory: other, namespace: "example.net", database: database)
        }
    }

    /// A brokered name with 20 one-time prekeys, fetched by 40 requesters at once through two
    /// instances: each prekey goes to one fetch, and the other 20 get the signed prekey alone.
    /// One requester's 10 fetches at once, with a limit of 5, stop at exactly 5.
    @Test(arguments: StorageBackend.allCases) func concurrentFetchesAtTwoInstancesHandOutEachPrekeyOnceAndStopAtTheLimit(
        backend: StorageBackend
    ) async throws {
        let database = try await backend.database()
        let data = temporaryDirectory("broker-instances")
        let limits = BrokerLimits(fetchesPerRequester: 5, oneTimePrekeysPerName: 100)
        var instances: [(DirectoryRegistry, DirectoryBroker)] = []
        for _ in 0..<2 {
            let registry = try await DirectoryRegistry.open(dataDirectory: data, namespace: "example.org", database: database)
            instances.append((registry, try await DirectoryBroker.open(dataDirectory: data, registry: registry, limits: limits)))
        }
        defer {
            for (registry, broker) in instances {
                broker.close()
                registry.close()
            }
        }
        let owner = Ed25519.PrivateKey()
        _ = try await instances[0].0.register(name: "alice", identityKey: owner.publicKey, policy: .open, now: Date())
        let package = try KeyPackage(
            identity: owner, signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: (0..<20).map { _ in X25519.PrivateKey().publicKey },
            route: nil, expires: Date().addingTimeInterval(86_400))
        #expect(try await instances[1].1.publish(name: "alice", package: package, rule: .open, trusted: [], now: Date()) == 20)

        let brokers = instances.map(\.1)
        // The pools' connections opened before the burst: on a busy machine opening one can
        // take seconds, and what is tested is the fetches, not the server's start of sessions.
        for broker in brokers {
            _ = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await broker.remainingPrekeys(name: "alice") } }
                return try await group.reduce(0, +)
            }
        }
        let fetched = try await withThrowingTaskGroup(of: KeyPackage.self) { group in
            for index in 0..<40 {
                group.addTask {
                    var attempt = 0
                    while true {
                        attempt += 1
                        do {
                            return try await brokers[index % 2].fetch(
                                name: "alice", requester: Ed25519.PrivateKey().publicKey, attestation: nil, now: Date()
                            ).package
                        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" && attempt < 3 {
                            // Queued past the broker's lock timeout on a saturated machine: the
                            // fetch rolled back, handing out nothing, and a client resends it.
                            continue
                        } catch {
                            // A PostgreSQL error describes itself only when reflected.
                            Issue.record("fetch \(index): \(String(reflecting: error))")
                            throw error
                        }
                    }
                }
            }
            return try await group.reduce(into: [KeyPackage]()) { $0.append($1) }
        }
        let handedOut = fetched.flatMap(\.oneTimePrekeys).map(\.prekey.rawRepresentation)
        #expect(handedOut.count == 20)
        #expect(Set(handedOut) == Set(package.oneTimePrekeys.map(\.prekey.rawRepresentation)), "each prekey once")
        #expect(fetched.filter { $0.oneTimePrekeys.isEmpty }.count == 20)
        #expect(try await brokers[0].remainingPrekeys(name: "alice") == 0)

        let requester = Ed25519.PrivateKey().publicKey
        let answers = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<10 {
                group.addTask { (try? await brokers[index % 2].fetch(name: "alice", requester: requester, attestation: nil, now: Date())) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers.filter { $0 }.count == 5, "\(answers.filter { $0 }.count) fetches passed a limit of 5")
    }

    /// A data directory keeps to the storage its log is in: one that ran on SQLite with
    /// statements is refused a new database, one that ran on a database is refused SQLite and
    /// any other database. Otherwise one key would sign two logs.
    @Test func aDataDirectoryKeepsToTheStorageItsLogIsIn() async throws {
        let onSQLite = temporaryDirectory("directory-sqlite")
        let local = try await DirectoryRegistry.open(dataDirectory: onSQLite, namespace: "example.org")
        _ = try await local.register(name: "alice", identityKey: Ed25519.PrivateKey().publicKey, policy: .open, now: Date())
        local.close()
        await #expect(throws: DataDirectoryError.self) {
            _ = try await DirectoryRegistry.open(dataDirectory: onSQLite, namespace: nil, database: TestPostgres.newDatabase())
        }

        let onPostgres = temporaryDirectory("directory-postgres")
        let database = try await TestPostgres.newDatabase()
        try await DirectoryRegistry.open(dataDirectory: onPostgres, namespace: "example.org", database: database).close()
        await #expect(throws: DataDirectoryError.self) { _ = try await DirectoryRegistry.open(dataDirectory: onPostgres, namespace: nil) }
        await #expect(throws: DataDirectoryError.self) {
            _ = try await DirectoryRegistry.open(dataDirectory: onPostgres, namespace: nil, database: TestPostgres.newDatabase())
        }
        try await DirectoryRegistry.open(dataDirectory: onPostgres, namespace: nil, database: database).close()
    }

    /// Closing a directory on SQLite folds both databases' write-ahead logs into their files and
    /// closes them: the data files can be copied as they are, and nothing reads a closed log.
    @Test func closingADirectoryOnSQLiteClosesItsLogToo() async throws {
        let data = temporaryDirectory("directory-close")
        let registry = try await DirectoryRegistry.open(dataDirectory: data, namespace: "example.org")
        _ = try await registry.register(name: "alice", identityKey: Ed25519.PrivateKey().publicKey, policy: .open, now: Date())
        let logs = [SQLiteDirectoryStorage.databaseFileName + "-wal", SQLiteDirectoryStorage.logFileName + "-wal"]
        func size(_ file: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: data.appendingPathComponent(file).path))?[.size] as? Int ?? 0
        }
        for file in logs { #expect(size(file) > 0, "\(file) before closing") }
        registry.close()
        for file in logs { #expect(size(file) == 0, "\(file) after closing") }
        await #expect(throws: (any Error).self) { _ = try await registry.storage.leaf(at: 0) }

        let reopened = try await DirectoryRegistry.open(dataDirectory: data, namespace: nil)
        defer { reopened.close() }
        #expect(try await reopened.signedCheckpoint().checkpoint.size == 1)
    }

    /// Contact requests are the holder's decisions: when the name changes hands and the new
    /// holder publishes, a requester the previous holder approved asks again. A request id that
    /// is not one names none, on either storage.
    @Test(arguments: StorageBackend.allCases) func approvalsDoNotOutliveTheNamesHolder(backend: StorageBackend) async throws {
        let data = temporaryDirectory("broker-holders")
        let registry = try await DirectoryRegistry.open(dataDirectory: data, namespace: "example.org", database: backend.database())
        let broker = try await DirectoryBroker.open(dataDirectory: data, registry: registry)
        defer {
            broker.close()
            registry.close()
        }
        func package(_ key: Ed25519.PrivateKey) throws -> KeyPackage {
            try KeyPackage(identity: key, signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: [], route: nil, expires: Date().addingTimeInterval(86_400))
        }
        let first = Ed25519.PrivateKey()
        let requester = Ed25519.PrivateKey().publicKey
        _ = try await registry.register(name: "alice", identityKey: first.publicKey, policy: .open, now: Date())
        _ = try await broker.publish(name: "alice", package: package(first), rule: .approval, trusted: [], now: Date())
        var requestID = ""
        do { _ = try await broker.fetch(name: "alice", requester: requester, attestation: nil, now: Date()) } catch DirectoryBroker.Refusal.pendingApproval(let id) {
            requestID = id
        }
        #expect(requestID.count == 32)
        await #expect(throws: DirectoryBroker.Refusal.unknownRequest("\u{0}")) {
            try await broker.decide(name: "alice", owner: first.publicKey, requestID: "\u{0}", approve: true)
        }
        try await broker.decide(name: "alice", owner: first.publicKey, requestID: requestID, approve: true)
        #expect(try await broker.fetch(name: "alice", requester: requester, attestation: nil, now: Date()).package.identityKey == first.publicKey)

        let second = Ed25519.PrivateKey()
        _ = try await registry.revoke(name: "alice", identityKey: first.publicKey, now: Date())
        _ = try await registry.register(name: "alice", identityKey: second.publicKey, policy: .open, now: Date())
        _ = try await broker.publish(name: "alice", package: package(second), rule: .approval, trusted: [], now: Date())
        await #expect {
            try await broker.fetch(name: "alice", requester: requester, attestation: nil, now: Date())
        } throws: { error in
            if case DirectoryBroker.Refusal.pendingApproval(let id) = error { return id != requestID }
            return false
        }
    }
}
