import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonStore
import Testing

/// A profile with a thousand live addresses at one receiving service: the receive agent fetches
/// them all (a few requests at a time, so the HTTP client's connection pool never runs dry),
/// finds what arrived at any of them, and still long-polls the newest.
struct ManyAddressesTests {
    static let addressCount = 1_000

    @Test func aThousandLiveAddressesAtOneServiceAreAllFetched() async throws {
        let (waits, waiting) = AsyncStream.makeStream(of: AddressID.self)
        let receiving = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(
                dataDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("many-addresses-\(UUID().uuidString)"),
                onLongPollWaiting: { waiting.yield($0) }))
        let mailbox = ReceivingServiceClient(serviceURI: receiving.baseURL)
        let endpoint = ReceivingEndpoint(mailbox: mailbox, publicKey: try await mailbox.serviceKey())
        let issuer = AddressIssuer(services: [endpoint])
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ManyAddresses-\(UUID().uuidString)")
        let random = SystemRandom()
        let persona = try Persona(displayName: "Alex", random: random)
        let store = try ProfileStore.create(at: root, persona: persona)
        let personaID = try store.personas()[0].id
        let now = Date()

        // A thousand relationships, each with an address of its own at the one service (their
        // peers are invites that never answer: only the addresses matter here).
        var routes: [OwnRoute] = []
        for _ in 0..<Self.addressCount {
            let route = try await issuer.createRoute(after: nil, now: now)
            let peer = try Persona(displayName: "Peer", random: random)
            let invite = Invite(
                identity: peer.identityKey, prekey: X25519.PrivateKey(using: random).publicKey,
                route: try Route(serviceURI: "https://peer.example", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: random)),
                expires: now.addingTimeInterval(3600))
            let (proton, initial) = try Proton.initiate(
                persona: persona, invite: invite, ourRoutes: [route], body: Array("hi".utf8), now: now, random: random)
            _ = try store.startRelationship(personaID: personaID, proton: proton, body: Array("hi".utf8), initialMessage: initial, now: now)
            routes.append(route)
        }
        let agent = try ReceiveAgent(store: store, services: [mailbox], stateDirectory: root)

        // Something arrives at the oldest, a middle and the newest address: all three are found
        // in one round, and no request fails.
        for index in [0, Self.addressCount / 2, Self.addressCount - 1] {
            try await DirectRelay().deliver(Envelope(sealing: [UInt8(index % 251)], to: routes[index].route, random: random), to: routes[index].route)
        }
        let events = await agent.poll(wait: 0, now: now)
        let failures = events.filter { if case .serviceFailed = $0 { true } else { false } }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        let found = Set(events.compactMap { if case .undecryptable(_, let address, _) = $0 { address } else { nil } })
        #expect(found == Set([0, Self.addressCount / 2, Self.addressCount - 1].map { routes[$0].address }))

        // A long-poll round: it waits on the newest addresses and wakes when one receives.
        let newest = routes[Self.addressCount - 2]
        async let waited = agent.poll(wait: 20, now: now)
        // Delivered once the service says a fetch of that address is waiting: the wake-up, not
        // the round's first check, finds it.
        for await address in waits where address == newest.address { break }
        try await DirectRelay().deliver(Envelope(sealing: [9], to: newest.route, random: random), to: newest.route)
        let woken = await waited
        #expect(woken.contains { if case .undecryptable(_, let address, _) = $0 { address == newest.address } else { false } })
        #expect(!woken.contains { if case .serviceFailed = $0 { true } else { false } })

        try store.close()
        try? FileManager.default.removeItem(at: root)
        await receiving.stop()
    }
}
