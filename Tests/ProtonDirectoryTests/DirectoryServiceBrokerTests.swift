import Foundation
import ProtonClient
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import Testing

/// The brokered directory over real HTTP: key packages only for attested names, one-time
/// prekeys never handed out twice, each contact rule, and the per-requester rate limit.
@Suite("Brokered directory service")
struct DirectoryServiceBrokerTests {
    static func package(for key: Ed25519.PrivateKey, prekeys: Int) throws -> KeyPackage {
        try KeyPackage(
            identity: key, signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: (0..<prekeys).map { _ in X25519.PrivateKey().publicKey },
            route: nil, expires: Date().addingTimeInterval(86_400))
    }

    /// Alice holds alice@example.org and published a package with `prekeys` one-time prekeys.
    static func published(
        rule: BrokerAPI.ContactRule, prekeys: Int = 5, limits: BrokerLimits = BrokerLimits()
    ) async throws -> (DirectoryServiceFixture, Ed25519.PrivateKey, KeyPackage) {
        let directory = try await DirectoryServiceFixture.start(brokered: true, brokerLimits: limits)
        let alice = Ed25519.PrivateKey()
        #expect(try await directory.register("alice", key: alice).status == 201)
        let package = try package(for: alice, prekeys: prekeys)
        let published = try await DirectoryClient(baseURL: directory.url).publish(name: "alice", package: package, rule: rule, key: alice)
        #expect(published.oneTimePrekeys == prekeys)
        return (directory, alice, package)
    }

    @Test func oneTimePrekeysAreNeverHandedOutTwiceUnderConcurrentFetches() async throws {
        let (directory, _, package) = try await Self.published(rule: .open, prekeys: 20, limits: BrokerLimits(oneTimePrekeysPerName: 100))
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        let results = try await withThrowingTaskGroup(of: BrokerAPI.FetchResult.self) { group in
            for _ in 0..<40 { group.addTask { try await client.fetchKeyPackage(name: "alice", key: Ed25519.PrivateKey()) } }
            return try await group.reduce(into: [BrokerAPI.FetchResult]()) { $0.append($1) }
        }
        let packages = try results.map { try KeyPackage(decoding: try Base64URL.decode($0.keyPackage ?? "", limit: KeyPackage.maximumByteCount)) }
        let handedOut = packages.flatMap(\.oneTimePrekeys)
        #expect(handedOut.count == 20)
        #expect(Set(handedOut.map(\.prekey.rawRepresentation)).count == 20, "no one-time prekey twice")
        #expect(Set(handedOut.map(\.prekey.rawRepresentation)) == Set(package.oneTimePrekeys.map(\.prekey.rawRepresentation)))
        #expect(results.filter(\.oneTimePrekeyIncluded).count == 20)
        // Once they run out, the signed prekey alone; every package is the owner's, signed.
        #expect(packages.allSatisfy { $0.signedPrekey == package.signedPrekey && $0.identityKey == package.identityKey })
        #expect(packages.filter { $0.oneTimePrekeys.isEmpty }.count == 20)
    }

    @Test func onlyTheAttestedKeyPublishesForAName() async throws {
        let directory = try await DirectoryServiceFixture.start(brokered: true)
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        let alice = Ed25519.PrivateKey()
        let mallory = Ed25519.PrivateKey()
        let early = try Self.package(for: alice, prekeys: 1)
        #expect(await Self.refusal { try await client.publish(name: "alice", package: early, rule: .open, key: alice) }?.code == "not_attested")
        #expect(try await directory.register("alice", key: alice).status == 201)
        // Mallory's own package under Alice's name.
        let malloryPackage = try Self.package(for: mallory, prekeys: 1)
        let stolen = await Self.refusal { try await client.publish(name: "alice", package: malloryPackage, rule: .open, key: mallory) }
        #expect(stolen?.status == 403)
        #expect(stolen?.code == "not_owner")
        // Alice's package, but signed by Mallory: no proof of possession.
        let body = DirectoryHTTP.json(BrokerAPI.Publish(keyPackage: Base64URL.encode(try Self.package(for: alice, prekeys: 1).encoded()), rule: .open))
        #expect(try await directory.post("/v1/broker/names/alice/key-package", body: body, signer: mallory).status == 401)
        // A forged package (signature broken) is refused before anything else.
        var forged = try Self.package(for: alice, prekeys: 1).encoded()
        forged[40] ^= 1
        let forgedBody = DirectoryHTTP.json(BrokerAPI.Publish(keyPackage: Base64URL.encode(forged), rule: .open))
        let refused = try await directory.post("/v1/broker/names/alice/key-package", body: forgedBody, signer: alice)
        #expect(refused.status == 400)
        #expect(refused.errorCode == "bad_key_package")
        #expect(await Self.refusal { try await client.fetchKeyPackage(name: "alice", key: Ed25519.PrivateKey()) }?.status == 404)
    }

    @Test func openRuleVendsToAnyone() async throws {
        let (directory, _, _) = try await Self.published(rule: .open)
        defer { Task { await directory.stop() } }
        let result = try await DirectoryClient(baseURL: directory.url).fetchKeyPackage(name: "alice", key: Ed25519.PrivateKey())
        #expect(result.keyPackage != nil)
        #expect(result.oneTimePrekeyIncluded)
    }

    @Test func attestedRuleNeedsAnAttestationOfTheRequestersKey() async throws {
        let (directory, _, _) = try await Self.published(rule: .attested)
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        let bob = Ed25519.PrivateKey()
        let carol = Ed25519.PrivateKey()
        let bobBundle = try directory.verifiedBundle(try await directory.register("bob", key: bob))

        for (key, bundle) in [(bob, nil), (carol, bobBundle)] as [(Ed25519.PrivateKey, AttestationBundle?)] {
            let refused = await Self.refusal { try await client.fetchKeyPackage(name: "alice", key: key, attestation: bundle) }
            #expect(refused?.status == 403)
            #expect(refused?.code == "contact_refused")
        }
        // An attestation from a directory that is not trusted does not count.
        let elsewhere = try await DirectoryServiceFixture.start()
        defer { Task { await elsewhere.stop() } }
        let carolBundle = try elsewhere.verifiedBundle(try await elsewhere.register("carol", key: carol))
        #expect(await Self.refusal { try await client.fetchKeyPackage(name: "alice", key: carol, attestation: carolBundle) }?.status == 403)

        let vended = try await client.fetchKeyPackage(name: "alice", key: bob, attestation: bobBundle)
        #expect(vended.keyPackage != nil)
        #expect(try await Self.remaining(directory) == 4)
    }

    @Test func approvalRuleWaitsForTheOwner() async throws {
        let (directory, alice, _) = try await Self.published(rule: .approval)
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        let bob = Ed25519.PrivateKey()
        let eve = Ed25519.PrivateKey()

        let first = try await client.fetchKeyPackage(name: "alice", key: bob)
        #expect(first.keyPackage == nil)
        let requestID = try #require(first.requestID)
        #expect(try await client.fetchKeyPackage(name: "alice", key: bob).requestID == requestID)
        let eveRequest = try #require(try await client.fetchKeyPackage(name: "alice", key: eve).requestID)
        #expect(try await Self.remaining(directory) == 5, "nothing vended while pending")

        // Only the owner lists and decides.
        #expect(await Self.refusal { try await client.contactRequests(name: "alice", key: bob) }?.status == 401)
        #expect(await Self.refusal { try await client.decide(name: "alice", requestID: requestID, approve: true, key: bob) }?.status == 401)
        let listed = try await client.contactRequests(name: "alice", key: alice)
        #expect(Set(listed.map(\.id)) == [requestID, eveRequest])
        #expect(listed.allSatisfy { $0.state == "pending" })

        try await client.decide(name: "alice", requestID: requestID, approve: true, key: alice)
        try await client.decide(name: "alice", requestID: eveRequest, approve: false, key: alice)
        let approved = try await client.fetchKeyPackage(name: "alice", key: bob)
        #expect(approved.keyPackage != nil)
        #expect(approved.oneTimePrekeyIncluded)
        #expect(await Self.refusal { try await client.fetchKeyPackage(name: "alice", key: eve) }?.status == 403)
        #expect(try await Self.remaining(directory) == 4)
    }

    @Test func rateLimitsEachRequester() async throws {
        let (directory, _, _) = try await Self.published(rule: .open, prekeys: 10, limits: BrokerLimits(fetchesPerRequester: 3))
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        let greedy = Ed25519.PrivateKey()
        for _ in 0..<3 { _ = try await client.fetchKeyPackage(name: "alice", key: greedy) }
        let limited = await Self.refusal { try await client.fetchKeyPackage(name: "alice", key: greedy) }
        #expect(limited?.status == 429)
        #expect(limited?.code == "rate_limited")
        #expect(try await Self.remaining(directory) == 7, "a limited request takes no prekey")
        #expect(try await client.fetchKeyPackage(name: "alice", key: Ed25519.PrivateKey()).oneTimePrekeyIncluded)
    }

    /// Fresh throwaway requester keys each pass the per-requester limit, but a name hands out
    /// only its budget of one-time prekeys per window; past it, fetches still get the package,
    /// with the signed prekey alone, and the owner's remaining prekeys stay.
    @Test func freshRequesterKeysCannotDrainTheOneTimePrekeys() async throws {
        let (directory, _, _) = try await Self.published(
            rule: .open, prekeys: 10, limits: BrokerLimits(fetchesPerRequester: 3, oneTimePrekeysPerName: 4))
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        var included = 0
        for _ in 0..<12 {
            let fetched = try await client.fetchKeyPackage(name: "alice", key: Ed25519.PrivateKey())
            #expect(fetched.keyPackage != nil)
            if fetched.oneTimePrekeyIncluded { included += 1 }
        }
        #expect(included == 4)
        #expect(try await Self.remaining(directory) == 6)
    }

    @Test func brokerRoutesAreOffUnlessSwitchedOn() async throws {
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        #expect(directory.info.brokered == false)
        let body = DirectoryHTTP.json(BrokerAPI.Fetch(requesterKey: Ed25519.PrivateKey().publicKey.b64))
        #expect(try await directory.post("/v1/broker/names/alice/fetch", body: body, signer: nil).status == 404)
    }

    /// The HTTP status a refused call got, with its error code; nil when it succeeded.
    static func refusal<T>(_ body: () async throws -> T) async -> (status: Int, code: String)? {
        do {
            _ = try await body()
            return nil
        } catch let failure as DirectoryClient.Failure {
            if case .refused(let status, let code, _) = failure { return (status, code) }
            return (0, "\(failure)")
        } catch {
            return (0, "\(error)")
        }
    }

    static func remaining(_ directory: DirectoryServiceFixture) async throws -> Int {
        let registry = try await DirectoryRegistry.open(dataDirectory: directory.dataDirectory, namespace: nil)
        defer { registry.close() }
        let broker = try await DirectoryBroker.open(dataDirectory: directory.dataDirectory, registry: registry)
        defer { broker.close() }
        return try await broker.remainingPrekeys(name: "alice")
    }
}
