import Foundation
import ProtonAgents
import ProtonCrypto
import ProtonStore
import Testing

@testable import ProtonCore

/// The owner's receive agent completing (or refusing) relationships started from a key package
/// it published, with a real profile store and an in-process receiving service. The package's
/// address is shared by everyone who fetched it.
@Suite("Receive agent: first contact through a published key package")
struct KeyPackageContactTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonKeyPackage-\(UUID().uuidString)")
    let mailbox = InProcessMailbox(serviceURI: "https://rs.example.org")
    let random = SystemRandom()

    struct Owner {
        let store: ProfileStore
        let agent: ReceiveAgent
        let package: KeyPackage
        let id: KeyPackageID
    }

    func owner(oneTimePrekeys count: Int, expires: Date = Date().addingTimeInterval(3_600), spares: Int = 4, hybrid: Bool = false) async throws
        -> Owner
    {
        let store = try ProfileStore.create(at: root.appendingPathComponent("carol"), persona: Persona(displayName: "Carol", random: random))
        let (package, id) = try await publish(in: store, oneTimePrekeys: count, expires: expires, hybrid: hybrid, now: Date())
        for _ in 0..<spares { try store.addSpareAddress(try await ownRoute()) }
        return Owner(store: store, agent: try ReceiveAgent(store: store, services: [mailbox]), package: package, id: id)
    }

    /// Stores a key package of carol@example.org as `publishKeyPackage` does, classical or hybrid.
    func publish(in store: ProfileStore, oneTimePrekeys count: Int, expires: Date, hybrid: Bool, now: Date) async throws -> (KeyPackage, KeyPackageID) {
        let personaID = try store.personas()[0].id
        let route = try await ownRoute()
        let signed = X25519.PrivateKey()
        let oneTime = (0..<count).map { _ in X25519.PrivateKey() }
        let identity = try store.persona(personaID).identityKey
        let kem = MLKEM.PrivateKey()
        let oneTimeKEM = hybrid ? oneTime.map { _ in MLKEM.PrivateKey() } : []
        let package =
            hybrid
            ? try KeyPackage(
                identity: identity, signedPrekey: signed.publicKey, kemPrekey: kem.publicKey,
                oneTimePrekeys: zip(oneTime, oneTimeKEM).map { ($0.publicKey, $1.publicKey) }, route: route.route, expires: expires)
            : try KeyPackage(
                identity: identity, signedPrekey: signed.publicKey, oneTimePrekeys: oneTime.map(\.publicKey), route: route.route, expires: expires)
        let id = try store.transaction { tx in
            try tx.insertPublishedKeyPackage(
                personaID: personaID, name: "carol@example.org", package: package, signedPrekey: signed, oneTimePrekeys: oneTime,
                kemPrekey: hybrid ? kem : nil, oneTimeKEMPrekeys: oneTimeKEM, route: route, now: now)
        }
        return (package, id)
    }

    /// Hybrid packages (PQXDH): starts through a one-time entry and through the last-resort KEM
    /// key complete, a start with the KEM part stripped is refused, and once a hybrid package
    /// replaced a classical one, a start from the classical one (a directory still serving it)
    /// is refused too. Nothing is stored for a refusal.
    @Test func hybridPackagesStartHybridAndRefuseDowngrades() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let carol = try await owner(oneTimePrekeys: 1, hybrid: true)
        defer { try? carol.store.close() }
        let viaEntry = try await connect(vended(carol.package, prekey: 0), as: "Ana", body: "from Ana")
        let viaLastResort = try await connect(vended(carol.package, prekey: nil), as: "Ben", body: "from Ben")
        #expect(try InitialMessage(decoding: viaEntry.initial).kem != nil && InitialMessage(decoding: viaLastResort.initial).kem != nil)
        var events = await carol.agent.poll(wait: 0, now: Date())
        #expect(Self.connected(events).map(\.1) == ["Ana", "Ben"])
        #expect(Self.refusals(events).isEmpty)

        // The same package's keys, but a classical start: the KEM part stripped.
        let cy = try Proton.initiate(
            persona: try Persona(displayName: "Cy", random: random), bundle: vended(carol.package, prekey: nil).bundle, kem: nil,
            context: .keyPackage, peerRoute: carol.package.route, ourRoutes: [try await ownRoute()], body: Array("from Cy".utf8),
            policy: .init(), now: Date(), random: random)
        #expect(cy.initialMessage.kem == nil)
        try await deliver(cy.initialMessage.encoded(), to: carol.package.route!)
        // An older classical package of the same name, replaced by the hybrid one.
        let (old, _) = try await publish(
            in: carol.store, oneTimePrekeys: 0, expires: Date().addingTimeInterval(3_600), hybrid: false, now: Date().addingTimeInterval(-86_400))
        _ = try await connect(old, as: "Di", body: "from Di")
        events = await carol.agent.poll(wait: 0, now: Date())
        #expect(Self.connected(events).isEmpty)
        let refusals = Self.refusals(events)
        #expect(refusals.count == 2, "\(refusals)")
        #expect(refusals.contains { $0.contains("classicalStartRefused") }, "\(refusals)")
        #expect(refusals.contains { $0.contains("post-quantum one has replaced") }, "\(refusals)")
        #expect(try carol.store.protons().count == 2)
    }

    func ownRoute() async throws -> OwnRoute {
        let owned = OwnedAddress(random: random)
        try await mailbox.createAddress(owned)
        let route = try Route(serviceURI: mailbox.serviceURI, serviceKey: try await mailbox.serviceKey(), address: owned.id)
        return OwnRoute(route: route, authKey: owned.authKey, issuedAt: Date())
    }

    /// What the directory would vend: the package with the `index`th one-time prekey, or none.
    func vended(_ package: KeyPackage, prekey index: Int?) -> KeyPackage {
        package.withOneTimePrekeys(index.map { [package.oneTimePrekeys[$0]] } ?? [])
    }

    /// Someone connects: their initial message goes to the package's shared address.
    func connect(
        _ package: KeyPackage, as name: String, body: String, persona: Persona? = nil, now: Date = Date()
    ) async throws -> (proton: Proton, initial: [UInt8]) {
        let started = try Proton.initiate(
            persona: try persona ?? Persona(displayName: name, random: random), keyPackage: package, ourRoutes: [try await ownRoute()],
            body: Array(body.utf8), now: now, random: random)
        let bytes = started.initialMessage.encoded()
        try await deliver(bytes, to: package.route!)
        return (started.proton, bytes)
    }

    func deliver(_ bytes: [UInt8], to route: Route) async throws {
        try await mailbox.deliver(Envelope(sealing: bytes, to: route, random: random))
    }

    static func connected(_ events: [ReceiveEvent]) -> [(ProtonID, String?)] {
        events.compactMap { if case .connected(let id, let name, _, _, _) = $0 { (id, name) } else { nil } }
    }

    static func refusals(_ events: [ReceiveEvent]) -> [String] {
        events.compactMap { if case .keyPackageRefused(_, let reason) = $0 { reason } else { nil } }
    }

    @Test func onePackageStartsManyRelationshipsAndEachOneTimePrekeyServesOnce() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let carol = try await owner(oneTimePrekeys: 2)
        defer { try? carol.store.close() }
        _ = try await connect(vended(carol.package, prekey: 0), as: "Ana", body: "from Ana")
        _ = try await connect(vended(carol.package, prekey: 1), as: "Ben", body: "from Ben")
        // The prekeys ran out at the directory: the signed prekey alone.
        _ = try await connect(vended(carol.package, prekey: nil), as: "Cy", body: "from Cy")
        let events = await carol.agent.poll(wait: 0, now: Date())
        let started = Self.connected(events)
        #expect(started.map(\.1) == ["Ana", "Ben", "Cy"])
        #expect(Self.refusals(events).isEmpty)
        for (id, name) in started {
            #expect(try carol.store.messages(protonID: id).map(\.body) == [Array("from \(name!)".utf8)])
        }
        #expect(try carol.store.unusedOneTimePrekeys(carol.id) == 0)
        #expect(try carol.store.publishedKeyPackages().count == 1, "a key package is not used up by a relationship")
        // The used prekeys' private keys are gone: a second use is refused without them.
        _ = try carol.store.transaction { tx in
            #expect(throws: KeyPackageError.self) {
                _ = try tx.keyPackagePrekeys(carol.id, signed: carol.package.signedPrekey, oneTime: carol.package.oneTimePrekeys[0].prekey)
            }
        }
    }

    @Test func aReplayedInitialMessageIsRefusedAndStoresNothing() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let carol = try await owner(oneTimePrekeys: 1)
        defer { try? carol.store.close() }
        let withPrekey = try await connect(vended(carol.package, prekey: 0), as: "Ana", body: "once")
        let signedOnly = try await connect(vended(carol.package, prekey: nil), as: "Ben", body: "once")
        _ = await carol.agent.poll(wait: 0, now: Date())
        try await deliver(withPrekey.initial, to: carol.package.route!)
        try await deliver(signedOnly.initial, to: carol.package.route!)
        let events = await carol.agent.poll(wait: 0, now: Date())
        let reasons = Self.refusals(events)
        #expect(reasons.count == 2)
        #expect(reasons.first?.contains("already used") == true)
        #expect(reasons.last?.contains("already has a relationship") == true)
        #expect(Self.connected(events).isEmpty)
        #expect(try carol.store.protons().count == 2)
        #expect(try carol.store.protons().allSatisfy { try carol.store.messages(protonID: $0.id).count == 1 })
    }

    @Test func laterMessagesToTheSharedAddressReachTheRelationshipTheyBelongTo() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let carol = try await owner(oneTimePrekeys: 2)
        defer { try? carol.store.close() }
        var ana = try await connect(vended(carol.package, prekey: 0), as: "Ana", body: "Ana 1").proton
        var ben = try await connect(vended(carol.package, prekey: 1), as: "Ben", body: "Ben 1").proton
        // Before any reply both still know only the shared address, and write there again.
        for (index, body) in ["Ben 2", "Ana 2", "Ben 3"].enumerated() {
            let sealed = index == 1
                ? try ana.seal(Array(body.utf8), now: Date(), random: random) : try ben.seal(Array(body.utf8), now: Date(), random: random)
            #expect(sealed.routes.first == carol.package.route)
            try await deliver(sealed.ciphertext, to: sealed.routes[0])
        }
        let events = await carol.agent.poll(wait: 0, now: Date())
        #expect(Self.refusals(events).isEmpty)
        let started = Dictionary(uniqueKeysWithValues: Self.connected(events).map { ($0.1!, $0.0) })
        let anaID = try #require(started["Ana"])
        let benID = try #require(started["Ben"])
        #expect(try carol.store.messages(protonID: anaID).map { String(decoding: $0.body, as: UTF8.self) } == ["Ana 1", "Ana 2"])
        #expect(try carol.store.messages(protonID: benID).map { String(decoding: $0.body, as: UTF8.self) } == ["Ben 1", "Ben 2", "Ben 3"])
        // Carol's relationships each offer an address of their own with her next message.
        let carolsAna = try carol.store.proton(anaID)
        #expect(carolsAna.ownRoutes.contains { $0.address != carol.package.route!.address })
        #expect(carolsAna.safetyNumber == ana.safetyNumber)
    }

    @Test(arguments: ["garbage", "tampered", "foreignPrekey", "foreignOneTimePrekey"])
    func aMessageThatDoesNotBelongIsRefusedAndThePackageKeepsWorking(kind: String) async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let carol = try await owner(oneTimePrekeys: 1)
        defer { try? carol.store.close() }
        let mallory = try Persona(displayName: "Mallory", random: random)
        var package = vended(carol.package, prekey: 0)
        if kind == "foreignPrekey" {
            package = try KeyPackage(
                identity: Ed25519.PrivateKey(), signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: [], route: carol.package.route,
                expires: carol.package.expires)
        } else if kind == "foreignOneTimePrekey" {
            // A directory handing out a one-time prekey the owner never published.
            package = carol.package.withOneTimePrekeys([KeyPackage.OneTimePrekey(prekey: X25519.PrivateKey().publicKey)])
        }
        let started = try Proton.initiate(persona: mallory, keyPackage: package, ourRoutes: [], body: [1], now: Date(), random: random)
        var bytes = started.initialMessage.encoded()
        switch kind {
        case "garbage": bytes = random.bytes(300)
        case "tampered": bytes[bytes.count - 20] ^= 0x01
        default: break
        }
        try await deliver(bytes, to: carol.package.route!)
        let events = await carol.agent.poll(wait: 0, now: Date())
        #expect(Self.refusals(events).count == 1)
        #expect(try carol.store.protons().isEmpty)
        #expect(try carol.store.unusedOneTimePrekeys(carol.id) == 1, "a refusal uses up nothing")
        #expect(try carol.store.spareAddressCounts().values.reduce(0, +) == 4, "a refusal keeps the spare addresses")

        _ = try await connect(vended(carol.package, prekey: 0), as: "Ana", body: "hello")
        let later = await carol.agent.poll(wait: 0, now: Date())
        #expect(Self.connected(later).map(\.1) == ["Ana"])
    }

    @Test func anInitialMessageThatArrivedAfterTheExpiryIsRefused() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let expiry = Date().addingTimeInterval(-60)
        let carol = try await owner(oneTimePrekeys: 1, expires: expiry)
        defer { try? carol.store.close() }
        // Ana's clock was wrong (or the message is a replay): the service received it after the expiry.
        _ = try await connect(vended(carol.package, prekey: 0), as: "Ana", body: "late", now: expiry.addingTimeInterval(-30))
        let events = await carol.agent.poll(wait: 0, now: Date())
        #expect(Self.refusals(events).first?.contains("expired") == true)
        #expect(try carol.store.protons().isEmpty)
    }

    @Test func aPackageIsDeletedTwoDaysAfterItExpiresAndItsAddressRetired() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let carol = try await owner(oneTimePrekeys: 3)
        defer { try? carol.store.close() }
        _ = await carol.agent.poll(wait: 0, now: carol.package.expires.addingTimeInterval(1.5 * 86_400))
        #expect(try carol.store.publishedKeyPackages().count == 1, "still polled in the late-arrival window")
        _ = await carol.agent.poll(wait: 0, now: carol.package.expires.addingTimeInterval(2.5 * 86_400))
        #expect(try carol.store.publishedKeyPackages().isEmpty)
        #expect(await mailbox.isRetired(carol.package.route!.address))
    }
}
