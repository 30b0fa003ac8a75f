import Foundation
import ProtonAgents
import ProtonCore
import ProtonServices
import ProtonStore
import Testing

/// A later message that reaches the receiver before an earlier one, forced with real services:
/// Blair has an old address at one receiving service and a newer one at the other; Alex's
/// first message goes to the old address (the newer one's service is down), the second to
/// the newer one (the old one's service is down), and Blair polls while the old service is
/// still down, so the second message is fetched first. Alex delivers directly: a sending
/// service would keep retrying the first message at the newer address and, once that service
/// is back, deliver it there before the second (which it does; `EndToEndTests` covers relays).
struct OvertakeTests {
    private struct Setup {
        let services: LoopbackServices
        let fixture: AgentFixture
        /// The receiving services of Blair's old and newer address.
        let old: Int
        let newer: Int
    }

    private func overtaken() async throws -> Setup {
        let services = try await LoopbackServices(receivingProcesses: [0, 1])
        let fixture = try await AgentFixture(
            alexServices: services.mailboxes, blairServices: services.mailboxes, relays: [DirectRelay()],
            policy: RotationPolicy(messagesPerAddress: 1_000, retirementGrace: 3_600))
        // Blair offers a second address at the other service; Alex learns it from Blair's message.
        let now = fixture.clock.advance()
        var proton = try fixture.blair.proton()
        let oldURI = try #require(proton.ownRoutes.last?.route.serviceURI)
        let fresh = try await AddressIssuer(services: try await fixture.endpoints(fixture.blair.services))
            .createRoute(after: oldURI, now: now)
        #expect(fresh.route.serviceURI != oldURI)
        try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
        try fixture.blair.store.saveProton(fixture.blair.protonID, proton, now: now)
        try await fixture.send("here is a second address", from: fixture.blair)
        #expect(await fixture.receive(fixture.alex).receivedBodies == ["here is a second address"])
        let old = try #require(services.receivingURLs.firstIndex(of: oldURI))
        let newer = try #require(services.receivingURLs.firstIndex(of: fresh.route.serviceURI))

        await services.stopReceiving(newer)
        let first = try await fixture.send("first", from: fixture.alex)
        #expect(first.delivered)
        try await services.restartReceiving(newer)
        await services.stopReceiving(old)
        let second = try await fixture.send("second", from: fixture.alex)
        #expect(second.delivered)
        return Setup(services: services, fixture: fixture, old: old, newer: newer)
    }

    @Test(.timeLimit(.minutes(2)))
    func aLaterMessageFetchedFirstWaitsForTheEarlierOne() async throws {
        let setup = try await overtaken()
        let fixture = setup.fixture
        let early = await fixture.receive(fixture.blair)
        #expect(early.receivedBodies == [], "\(early)")
        #expect(try !fixture.blair.log(.incoming).contains("second"))

        try await setup.services.restartReceiving(setup.old)
        _ = fixture.clock.advance(30)
        let events = await fixture.receive(fixture.blair)
        #expect(events.receivedBodies == ["first", "second"], "\(events)")
        #expect(!events.contains { if case .arrivedLate = $0 { true } else { false } })
        #expect(try fixture.blair.log(.incoming) == ["first", "second"])
        fixture.tearDown()
        await setup.services.stopAll()
    }

    @Test(.timeLimit(.minutes(2)))
    func whenTheHoldBackEndsTheLaterMessageIsShownAndTheEarlierOneSaysItIsLate() async throws {
        let setup = try await overtaken()
        let fixture = setup.fixture
        #expect(await fixture.receive(fixture.blair).receivedBodies == [])

        // Two minutes by the receiver's clock: the gap is given up on and said.
        _ = fixture.clock.advance(await fixture.blair.receiver.holdBack + 1)
        let gaveUp = await fixture.receive(fixture.blair)
        #expect(gaveUp.receivedBodies == ["second"], "\(gaveUp)")
        #expect(gaveUp.contains { if case .stoppedWaiting = $0 { true } else { false } })

        try await setup.services.restartReceiving(setup.old)
        let late = await fixture.receive(fixture.blair)
        #expect(late.receivedBodies == ["first"], "\(late)")
        #expect(late.contains { if case .arrivedLate = $0 { true } else { false } })
        // Shown in the order it arrived, once each.
        #expect(try fixture.blair.log(.incoming).sorted() == ["first", "second"])
        fixture.tearDown()
        await setup.services.stopAll()
    }
}
