import Foundation
import ProtonClient
import GRDB
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import Testing

/// The attesting directory over real HTTP on loopback: proof of possession, policies, the log
/// it keeps, and the refusals that must leave that log alone.
@Suite("Directory service")
struct DirectoryServiceTests {
    @Test func registersANameWithProofOfPossessionAndServesABundleThatVerifiesOffline() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()

        let registered = try await directory.register("alice", key: alice)
        #expect(registered.status == 201)
        let bundle = try directory.verifiedBundle(registered)
        #expect(bundle.attestation.kind == .attestation)
        #expect(bundle.attestation.qualifiedName == "alice@example.org")
        #expect(bundle.attestation.identityKey == alice.publicKey)
        #expect(bundle.attestation.logIndex == 0)
        #expect(try await directory.logSize() == 1)

        // The same key again: nothing new is logged.
        let again = try await directory.register("alice", key: alice)
        #expect(again.status == 200)
        #expect(try await directory.logSize() == 1)

        let looked = try await directory.lookup("alice")
        #expect(looked.status == 200)
        #expect(try directory.verifiedBundle(looked).attestation == bundle.attestation)
        // A bundle from another directory's key does not verify.
        let other = try DirectoryKey(name: directory.info.origin, privateKey: Ed25519.PrivateKey())
        #expect(throws: AttestationError.self) { try bundle.verify(directory: other.verifier, now: Date()) }
        #expect(directory.info.origin == "example.org/directory")
        #expect(directory.info.policy == "open")
    }

    @Test func refusesRegistrationWithoutProofOfPossessionAndLogsNothing() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        let mallory = Ed25519.PrivateKey()
        let body = DirectoryHTTP.json(DirectoryAPI.NameRequest(namespace: "example.org", name: "alice", identityKey: alice.publicKey.b64))

        let unsigned = try await directory.post("/v1/directory/register", body: body, signer: nil)
        #expect(unsigned.status == 401)
        #expect(unsigned.errorCode == "bad_signature")
        // Mallory names Alice's key but cannot sign for it.
        let signedByOther = try await directory.post("/v1/directory/register", body: body, signer: mallory)
        #expect(signedByOther.status == 401)
        #expect(signedByOther.errorCode == "bad_signature")
        let stale = try await directory.post("/v1/directory/register", body: body, signer: alice, now: Date().addingTimeInterval(-3_600))
        #expect(stale.status == 401)
        #expect(stale.errorCode == "stale_request")
        // A signature over another name does not carry over: the body is what was signed.
        let signature = RequestSignature.sign(
            method: "POST", pathAndQuery: "/v1/directory/register", body: body, key: alice, now: Date(), random: SystemRandom())
        let swapped = DirectoryHTTP.json(DirectoryAPI.NameRequest(namespace: "example.org", name: "alicia", identityKey: alice.publicKey.b64))
        let moved = try await DirectoryHTTP.request(
            "POST", directory.url + "/v1/directory/register", body: swapped, headers: signature.headers.map { ($0.name, $0.value) })
        #expect(moved.status == 401)
        // Another namespace is refused even when signed.
        let elsewhere = try await directory.register("alice", key: alice, namespace: "example.net")
        #expect(elsewhere.status == 400)
        #expect(elsewhere.errorCode == "wrong_namespace")

        #expect(try await directory.logSize() == 0)
        #expect(try await directory.lookup("alice").status == 404)

        // The real request succeeds once; its replay is refused.
        let headers = signature.headers.map { ($0.name, $0.value) }
        let first = try await DirectoryHTTP.request("POST", directory.url + "/v1/directory/register", body: body, headers: headers)
        #expect(first.status == 201)
        let replay = try await DirectoryHTTP.request("POST", directory.url + "/v1/directory/register", body: body, headers: headers)
        #expect(replay.status == 401)
        #expect(replay.errorCode == "replayed_request")
        #expect(try await directory.logSize() == 1)
    }

    @Test func refusesANameHeldByAnotherKeyAndLogsNothing() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        let bob = Ed25519.PrivateKey()
        #expect(try await directory.register("alice", key: alice).status == 201)

        let taken = try await directory.register("alice", key: bob)
        #expect(taken.status == 409)
        #expect(taken.errorCode == "name_taken")
        #expect(try await directory.logSize() == 1)
        #expect(try directory.verifiedBundle(try await directory.lookup("alice")).attestation.identityKey == alice.publicKey)
    }

    @Test func concurrentRegistrationsOfOneNameBindItOnce() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { try await directory.register("contested", key: Ed25519.PrivateKey()).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 201 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 15)
        #expect(try await directory.logSize() == 1)
    }

    @Test func approvePolicyHoldsRegistrationsUntilTheOperatorApproves() async throws {
        let directory = try await DirectoryServiceFixture.start(policy: .approve)
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        let bob = Ed25519.PrivateKey()

        let pending = try await directory.register("alice", key: alice)
        #expect(pending.status == 202)
        #expect(try pending.decode(DirectoryAPI.NameStatus.self).state == .pending)
        #expect(try await directory.logSize() == 0)
        #expect(try await directory.lookup("alice").status == 404)
        // Someone else asking for the same pending name is refused.
        #expect(try await directory.register("alice", key: bob).status == 409)

        // The operator's tool opens the same data directory while the service runs.
        let operatorRegistry = try await DirectoryRegistry.open(dataDirectory: directory.dataDirectory, namespace: nil)
        defer { operatorRegistry.close() }
        #expect(try await operatorRegistry.pending().map(\.name) == ["alice"])
        let binding = try await operatorRegistry.approve(name: "alice", now: Date())
        #expect(binding.logIndex == 0)
        await #expect(throws: DirectoryRefusal.noPendingRegistration("alice")) { try await operatorRegistry.approve(name: "alice", now: Date()) }

        #expect(try await directory.logSize() == 1)
        let looked = try await directory.lookup("alice")
        #expect(looked.status == 200)
        #expect(try directory.verifiedBundle(looked).attestation.identityKey == alice.publicKey)

        // Denied registrations leave nothing behind.
        #expect(try await directory.register("bob", key: bob).status == 202)
        try await operatorRegistry.deny(name: "bob")
        #expect(try await operatorRegistry.pending().isEmpty)
        #expect(try await directory.logSize() == 1)
    }

    @Test func allowlistPolicyAttestsOnlyListedNamesForTheirKeys() async throws {
        let directory = try await DirectoryServiceFixture.start(policy: .allowlist)
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        let bob = Ed25519.PrivateKey()

        let refused = try await directory.register("alice", key: alice)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "not_allowed")
        #expect(try await directory.logSize() == 0)

        let operatorRegistry = try await DirectoryRegistry.open(dataDirectory: directory.dataDirectory, namespace: nil)
        defer { operatorRegistry.close() }
        try await operatorRegistry.allow(name: "alice", identityKey: alice.publicKey, now: Date())
        try await operatorRegistry.allow(name: "team", identityKey: nil, now: Date())

        #expect(try await directory.register("alice", key: bob).status == 403)
        #expect(try await directory.logSize() == 0)
        #expect(try await directory.register("alice", key: alice).status == 201)
        #expect(try await directory.register("team", key: bob).status == 201)
        #expect(try await directory.register("team", key: alice).status == 409)
        #expect(try await directory.logSize() == 2)
    }

    @Test func keyChangesAndRevocationsAreLoggedAndSignedByTheHolder() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        let aliceNew = Ed25519.PrivateKey()
        let mallory = Ed25519.PrivateKey()
        #expect(try await directory.register("alice", key: alice).status == 201)

        let changeBody = DirectoryHTTP.json(
            DirectoryAPI.KeyChangeRequest(namespace: "example.org", name: "alice", identityKey: alice.publicKey.b64, newIdentityKey: aliceNew.publicKey.b64))
        // Signed by the old key only: the new key never proved possession.
        let oneSignature = try await directory.post("/v1/directory/change-key", body: changeBody, signer: alice)
        #expect(oneSignature.status == 401)
        #expect(try await directory.logSize() == 1)

        let changed = try await DirectoryClient(baseURL: directory.url).changeKey(name: "alice", namespace: "example.org", from: alice, to: aliceNew)
        #expect(changed.state == .attested)
        let bundle = try directory.verifiedBundle(try await directory.lookup("alice"))
        #expect(bundle.attestation.kind == .keyChange)
        #expect(bundle.attestation.identityKey == aliceNew.publicKey)
        #expect(bundle.attestation.previousKey == alice.publicKey)

        // The old key no longer holds the name; Mallory never did.
        let client = DirectoryClient(baseURL: directory.url)
        await #expect(throws: DirectoryClient.Failure.self) { _ = try await client.revoke(name: "alice", namespace: "example.org", key: alice) }
        await #expect(throws: DirectoryClient.Failure.self) { _ = try await client.revoke(name: "alice", namespace: "example.org", key: mallory) }
        #expect(try await directory.logSize() == 2)

        let revoked = try await client.revoke(name: "alice", namespace: "example.org", key: aliceNew)
        #expect(revoked.state == .revoked)
        #expect(try await directory.logSize() == 3)
        let gone = try await directory.lookup("alice")
        #expect(gone.status == 410)
        #expect(gone.errorCode == "revoked")

        // Every statement is a leaf a monitor can read, in order.
        let kinds = try await (0..<3).asyncMap { index in
            let leaf = try await DirectoryHTTP.request("GET", directory.url + "/v1/log/leaves/\(index)").decode(DirectoryAPI.Leaf.self)
            return try Attestation(decoding: try Base64URL.decode(leaf.leaf, limit: 1_000)).kind
        }
        #expect(kinds == [.attestation, .keyChange, .revocation])
    }

    @Test func servesInclusionAndConsistencyProofsThatVerify() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        var checkpoints = [Checkpoint]()
        var leafHashes = [[UInt8]]()
        for index in 0..<7 {
            let answer = try await directory.register("user\(index)", key: Ed25519.PrivateKey())
            leafHashes.append(try directory.verifiedBundle(answer).attestation.leafHash)
            checkpoints.append(try SignedCheckpoint(verifying: try await client.checkpoint(), verifier: directory.verifier).checkpoint)
        }
        for (index, checkpoint) in checkpoints.enumerated() {
            for leaf in 0...index {
                let hashes = try await client.inclusionProof(index: UInt64(leaf), size: checkpoint.size)
                try InclusionProof(leafIndex: UInt64(leaf), treeSize: checkpoint.size, hashes: hashes)
                    .verify(leafHash: leafHashes[leaf], root: checkpoint.rootHash)
            }
            for later in checkpoints[index...] {
                let hashes = try await client.consistencyProof(from: checkpoint.size, to: later.size)
                #expect(Audit.check(stored: checkpoint, new: later, proof: hashes).isConsistent)
            }
        }
        for path in ["/v1/log/inclusion?index=7&size=7", "/v1/log/inclusion?index=0&size=8", "/v1/log/consistency?from=5&to=3",
            "/v1/log/consistency?from=1&to=99", "/v1/log/inclusion?index=-1&size=3", "/v1/log/inclusion?size=3", "/v1/log/leaves/7"]
        {
            let answer = try await DirectoryHTTP.request("GET", directory.url + path)
            #expect(answer.status == 400, "\(path)")
        }
    }

    @Test func refusesBadInputWithA4xxAndStoresNothing() async throws {
        let directory = try await DirectoryServiceFixture.start(policy: .approve)
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        func request(name: String = "alice", namespace: String = "example.org", key: String? = nil) -> [UInt8] {
            DirectoryHTTP.json(DirectoryAPI.NameRequest(namespace: namespace, name: name, identityKey: key ?? alice.publicKey.b64))
        }
        let cases: [(String, [UInt8], Int)] = [
            ("malformed JSON", Array("{\"namespace\": ".utf8), 400),
            ("not an object", Array("[1,2,3]".utf8), 400),
            ("missing field", Array("{\"namespace\":\"example.org\",\"name\":\"alice\"}".utf8), 400),
            ("oversized body", Array(repeating: UInt8(ascii: " "), count: DirectoryAPI.maximumBodyByteCount + 1), 413),
            ("bad base64 key", request(key: "not*base64!"), 400),
            ("short key", request(key: Base64URL.encode([1, 2, 3])), 400),
            ("long key", request(key: Base64URL.encode(Array(repeating: 7, count: 64))), 400),
            ("uppercase name", request(name: "Alice"), 400),
            ("empty name", request(name: ""), 400),
            ("long name", request(name: String(repeating: "a", count: 65)), 400),
            ("name with @", request(name: "alice@example.org"), 400),
            ("wrong namespace", request(namespace: "EXAMPLE.org"), 400),
        ]
        for (label, body, status) in cases {
            let answer = try await directory.post("/v1/directory/register", body: body, signer: alice)
            #expect(answer.status == status, "\(label)")
            #expect(answer.errorCode != nil, "\(label): a JSON error body")
        }
        let body = request()
        let badHeaders: [(String, [(String, String)])] = [
            ("bad signature base64", [("Proton-Timestamp", "\(Int(Date().timeIntervalSince1970))"), ("Proton-Nonce", Base64URL.encode(Array(repeating: 1, count: 16))), ("Proton-Signature", "***")]),
            ("short signature", [("Proton-Timestamp", "\(Int(Date().timeIntervalSince1970))"), ("Proton-Nonce", Base64URL.encode(Array(repeating: 2, count: 16))), ("Proton-Signature", Base64URL.encode([1, 2]))]),
            ("wrong signature", [("Proton-Timestamp", "\(Int(Date().timeIntervalSince1970))"), ("Proton-Nonce", Base64URL.encode(Array(repeating: 3, count: 16))), ("Proton-Signature", Base64URL.encode(Array(repeating: 9, count: 64)))]),
            ("timestamp not a number", [("Proton-Timestamp", "soon"), ("Proton-Nonce", Base64URL.encode(Array(repeating: 4, count: 16))), ("Proton-Signature", Base64URL.encode(Array(repeating: 9, count: 64)))]),
        ]
        for (label, headers) in badHeaders {
            let answer = try await directory.post("/v1/directory/register", body: body, signer: nil, extraHeaders: headers)
            #expect(answer.status == 401, "\(label)")
        }
        #expect(try await DirectoryHTTP.request("GET", directory.url + "/v1/directory/names/NOT_VALID").status == 400)
        #expect(try await DirectoryHTTP.request("GET", directory.url + "/v1/nothing/here").status == 404)

        #expect(try await directory.logSize() == 0)
        let registry = try await DirectoryRegistry.open(dataDirectory: directory.dataDirectory, namespace: nil)
        defer { registry.close() }
        #expect(try await registry.pending().isEmpty)
    }

    @Test func registeringAgainNearExpiryRenewsTheAttestation() async throws {
        let clock = DirectoryTestClock()
        let directory = try await DirectoryServiceFixture.start(now: { clock.now() })
        defer { Task { await directory.stop() } }
        let alice = Ed25519.PrivateKey()
        let first = try directory.verifiedBundle(try await directory.register("alice", key: alice))
        // A client a minute behind the directory still accepts a fresh attestation.
        #expect(throws: Never.self) { try first.verify(directory: directory.verifier, now: clock.now().addingTimeInterval(-60)) }

        clock.advance(by: 300 * 86_400)
        #expect(try await directory.register("alice", key: alice, now: clock.now()).status == 200, "not yet due")
        clock.advance(by: 40 * 86_400)
        let renewed = try await directory.register("alice", key: alice, now: clock.now())
        #expect(renewed.status == 201)
        #expect(try await directory.logSize() == 2)
        let bundle = try AttestationBundle(
            decoding: try Base64URL.decode(try renewed.decode(DirectoryAPI.NameStatus.self).bundle ?? "", limit: AttestationBundle.maximumByteCount))
        try bundle.verify(directory: directory.verifier, now: clock.now())
        #expect(bundle.attestation.logIndex == 1)
        // A month later the first attestation has expired and a client checking it offline
        // refuses it; the renewed one still verifies.
        clock.advance(by: 30 * 86_400)
        #expect(throws: AttestationError.self) { try first.verify(directory: directory.verifier, now: clock.now()) }
        try bundle.verify(directory: directory.verifier, now: clock.now())
    }

    @Test func theKeyAndNamespaceSurviveARestartAndTheIndexFollowsTheLog() async throws {
        let first = try await DirectoryServiceFixture.start()
        let alice = Ed25519.PrivateKey()
        #expect(try await first.register("alice", key: alice).status == 201)
        await first.stop()
        let attributes = try FileManager.default.attributesOfItem(
            atPath: first.dataDirectory.appendingPathComponent("directory-key").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // As if the process died between an append and its index update: the index forgets
        // the last statement; the log, the source of truth, still has it.
        let database = try DatabaseQueue(path: first.dataDirectory.appendingPathComponent(SQLiteDirectoryStorage.databaseFileName).path)
        try await database.write { db in
            try db.execute(sql: "DELETE FROM binding")
            try db.execute(sql: "UPDATE indexed SET log_size = 0")
        }
        try database.close()

        let second = try await DirectoryServiceFixture.start(dataDirectory: first.dataDirectory)
        defer { Task { await second.stop() } }
        #expect(second.info.verifierKey == first.info.verifierKey)
        #expect(try second.verifiedBundle(try await second.lookup("alice")).attestation.identityKey == alice.publicKey)
        // A key others could read is refused.
        let keyPath = first.dataDirectory.appendingPathComponent("directory-key").path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyPath)
        await #expect(throws: DataDirectoryError.self) { _ = try await DirectoryRegistry.open(dataDirectory: first.dataDirectory, namespace: nil) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        // Another namespace on the same data directory is refused.
        await #expect(throws: DataDirectoryError.self) {
            _ = try await DirectoryService.start(
                configuration: DirectoryServiceConfiguration(namespace: "example.net", dataDirectory: first.dataDirectory))
        }
    }
}

final class DirectoryTestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset: TimeInterval = 0

    func now() -> Date { lock.withLock { Date().addingTimeInterval(offset) } }
    func advance(by seconds: TimeInterval) { lock.withLock { offset += seconds } }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results = [T]()
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
