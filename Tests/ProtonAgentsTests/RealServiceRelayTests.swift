import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonStore
import Testing

/// The relays and the owner's client against real services on loopback.
struct RealServiceRelayTests {
    @Test func aRetiredAddressAnswers410ThroughBothRelaysAndTheAgentFailsOver() async throws {
        let services = try await LoopbackServices()
        // Each relay waits up to 10 s for the forward (the fixture's usual 500 ms is for
        // overtakes): on a loaded machine the forwarder may not have tried within 500 ms, and
        // the agent's last send would report "not delivered yet"; what is checked is how a
        // retired address is reported and failed over, not how fast.
        let patient: [any Relay] = services.sending.map { SendingServiceRelay(serviceURI: $0.baseURL, forwardingWait: .seconds(10)) }
        let fixture = try await AgentFixture(
            alexServices: services.mailboxes, blairServices: services.mailboxes, relays: patient,
            policy: RotationPolicy(messagesPerAddress: 1_000, retirementGrace: 90))
        // Alex offers a second route; Blair learns it with Alex's next message.
        let now = fixture.clock.advance()
        var proton = try fixture.alex.proton()
        let fresh = try await AddressIssuer(services: try await fixture.endpoints(fixture.alex.services))
            .createRoute(after: proton.ownRoutes.last?.route.serviceURI, now: now)
        try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
        try fixture.alex.store.saveProton(fixture.alex.protonID, proton, now: now)
        try await fixture.send("a new address", from: fixture.alex)
        #expect(await fixture.receive(fixture.blair).receivedBodies == ["a new address"])

        // Alex retires the new address at its service before Blair uses it.
        let mailbox = fixture.alex.services.first { $0.serviceURI == fresh.route.serviceURI }!
        try await mailbox.retire(fresh.ownedAddress)
        let envelope = try Envelope(sealing: [1, 2, 3], to: fresh.route, random: SystemRandom())
        for relay in [DirectRelay()] + patient {
            do throws(RelayError) {
                try await relay.deliver(envelope, to: fresh.route)
                Issue.record("\(relay.name) delivered to a retired address")
            } catch {
                #expect(error == .addressRetired(fresh.address), "\(relay.name)")
            }
        }

        let sent = try await fixture.send("still reachable?", from: fixture.blair)
        #expect(sent.delivered)
        #expect(sent.events.contains(.addressRetired(protonID: fixture.blair.protonID, address: fresh.address)))
        #expect(await fixture.receive(fixture.alex).receivedBodies == ["still reachable?"])
        fixture.tearDown()
        await services.stopAll()
    }

    /// A sending service's URI where something else now answers (its port taken by another
    /// service since it stopped: the demo met this once) is failed over, not taken as a final
    /// refusal of the message.
    @Test func somethingThatIsNotASendingServiceIsFailedOver() async throws {
        let services = try await LoopbackServices()
        let route = try Route(
            serviceURI: services.receivingURLs[1], serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom()))
        let envelope = try Envelope(sealing: [1, 2, 3], to: route, random: SystemRandom())
        let impostor = SendingServiceRelay(serviceURI: services.receivingURLs[0], forwardingWait: .seconds(10))
        do throws(RelayError) {
            try await impostor.deliver(envelope, to: route)
            Issue.record("a receiving service took a send")
        } catch {
            guard case .unavailable(let reason) = error else {
                Issue.record("\(error) is not unavailable")
                await services.stopAll()
                return
            }
            #expect(reason.contains("404"), "\(reason)")
        }
        await services.stopAll()
    }

    @Test func addingAReceivingServicePinsTheKeyItPublishes() async throws {
        let services = try await LoopbackServices()
        let sandbox = AgentCommandTests.Sandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let uri = services.receivingURLs[1]
        let added = try await sandbox.run("services", "add", "receiving", uri + "/")
        #expect(added.status == 0, "\(added.stderr)")
        let configuration = try AgentCommandTests.storedServices(sandbox.profile)
        let published = try await ReceivingServiceClient(serviceURI: uri).serviceKey()
        #expect(configuration.receiving.map(\.uri) == [uri])
        #expect(try configuration.receiving.first?.key() == published)
        // Nothing to fetch yet, and a reachable service is no failure.
        let received = try await sandbox.run("receive", "--json")
        #expect(received.status == 0, "\(received.stderr)")
        #expect(received.stdout.filter { !$0.isWhitespace } == "[]")
        await services.stopAll()
    }
}
