import Foundation
import ProtonAgents
import ProtonCore
import ProtonStore
import Testing

/// Two profiles talking through the agents and in-process relays.
struct ConversationTests {
    @Test func twoProfilesTalkInOrderWhileAddressesRotate() async throws {
        let fixture = try await AgentFixture(policy: RotationPolicy(messagesPerAddress: 4, retirementGrace: 150))
        defer { fixture.tearDown() }
        var rotations = 0
        var retiredAtService = 0
        for round in 1...30 {
            if try await fixture.send("Alex \(round)", from: fixture.alex).rotatedTo != nil { rotations += 1 }
            retiredAtService += await fixture.receive(fixture.blair).retiredAtService
            if try await fixture.send("Blair \(round)", from: fixture.blair).rotatedTo != nil { rotations += 1 }
            retiredAtService += await fixture.receive(fixture.alex).retiredAtService
        }
        #expect(try fixture.blair.log(.incoming) == (1...30).map { "Alex \($0)" })
        #expect(try fixture.alex.log(.incoming) == ["Hello Alex, it's Blair."] + (1...30).map { "Blair \($0)" })
        #expect(try fixture.alex.store.outbox().isEmpty)
        #expect(try fixture.blair.store.outbox().isEmpty)
        #expect(rotations >= 10)
        #expect(retiredAtService >= 8)
        // Alex's fresh addresses were spread over both receiving services.
        let alexServices = Set(try fixture.alex.proton().ownRoutes.map(\.route.serviceURI))
        #expect(alexServices.count == 2)
        // Every retired address is gone at its service too: deliveries to it would get 410.
        for own in try fixture.alex.proton().ownRoutes where own.state == .retired && !own.isShared {
            let service = fixture.alex.inProcess.first { $0.serviceURI == own.route.serviceURI }!
            #expect(await service.isRetired(own.address))
        }
    }

    @Test func aRetiredAddressIsReportedAndTheNextRouteIsUsed() async throws {
        let fixture = try await AgentFixture()
        defer { fixture.tearDown() }
        // Alex offers a second route; Blair learns it with Alex's next message.
        let now = fixture.clock.advance()
        let issuer = AddressIssuer(services: try await fixture.endpoints(fixture.alex.services))
        var proton = try fixture.alex.proton()
        let fresh = try await issuer.createRoute(after: fixture.alex.services[0].serviceURI, now: now)
        try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
        try fixture.alex.store.saveProton(fixture.alex.protonID, proton, now: now)
        try await fixture.send("here is a new address", from: fixture.alex)
        #expect(await fixture.receive(fixture.blair).receivedBodies == ["here is a new address"])
        #expect(try fixture.blair.proton().sendingRoutes.first?.address == fresh.address)

        // The newest route is retired at its service before Blair's message gets there.
        await fixture.alex.inProcess[1].retireAddress(fresh.address)
        let sent = try await fixture.send("which address works?", from: fixture.blair)
        #expect(sent.delivered)
        #expect(sent.events.contains(.addressRetired(protonID: fixture.blair.protonID, address: fresh.address)))
        #expect(sent.events.map(\.description).contains { $0.hasPrefix("this contact has retired that address") })
        #expect(await fixture.receive(fixture.alex).receivedBodies == ["which address works?"])
    }

    @Test func aRedeliveredMessageIsDroppedAndAcknowledged() async throws {
        let fixture = try await AgentFixture()
        defer { fixture.tearDown() }
        for index in 1...3 { try await fixture.send("Blair \(index)", from: fixture.blair) }
        #expect(await fixture.receive(fixture.alex).receivedBodies == ["Blair 1", "Blair 2", "Blair 3"])

        // The service lost its acknowledgements and hands everything out again, to an agent
        // that has no cursors either (a fresh profile state file would be the same).
        for service in fixture.alex.inProcess { await service.redeliverAcknowledged() }
        let fresh = try ReceiveAgent(store: fixture.alex.store, services: fixture.alex.services)
        let events = await fresh.poll(wait: 0, now: fixture.clock.now)
        #expect(events.receivedBodies.isEmpty)
        #expect(events.duplicates == 3)
        #expect(try fixture.alex.log(.incoming) == ["Hello Alex, it's Blair.", "Blair 1", "Blair 2", "Blair 3"])
        for service in fixture.alex.inProcess { #expect(await service.waitingCount == 0) }
    }

    @Test func anUndeliveredMessageWaitsInTheOutboxAcrossRestartsWithBackoff() async throws {
        var fixture = try await AgentFixture()
        defer { fixture.tearDown() }
        for service in fixture.alex.inProcess { await service.setAvailable(false) }
        let sent = try await fixture.send("are you there?", from: fixture.blair)
        #expect(!sent.delivered)
        #expect(sent.events.contains { if case .deferred(_, _, 1, _) = $0 { true } else { false } })
        #expect(try fixture.blair.store.outbox().map(\.attempts) == [1])

        // The process restarts: a new store and a new agent over the same profile.
        try fixture.blair.store.close()
        let reopened = try ProfileStore.open(at: fixture.blair.directory)
        fixture.blair = Party(
            name: "Blair", directory: fixture.blair.directory, store: reopened, personaID: fixture.blair.personaID,
            services: fixture.blair.services, protonID: fixture.blair.protonID,
            sender: SendAgent(store: reopened, relays: fixture.relays, receivingServices: []),
            receiver: try ReceiveAgent(store: reopened, services: fixture.blair.services))
        for service in fixture.alex.inProcess { await service.setAvailable(true) }
        let lastAttempt = try #require(try reopened.outbox().first?.lastAttempt)
        #expect(await fixture.blair.sender.flush(now: lastAttempt.addingTimeInterval(1)).isEmpty)
        let events = await fixture.blair.sender.flush(now: lastAttempt.addingTimeInterval(3))
        #expect(events.contains { if case .delivered = $0 { true } else { false } })
        #expect(try reopened.outbox().isEmpty)
        #expect(await fixture.receive(fixture.alex).receivedBodies == ["are you there?"])
    }

    @Test func blockedRelationshipsNeitherSendNorReceive() async throws {
        let fixture = try await AgentFixture()
        defer { fixture.tearDown() }
        try await fixture.send("my own address", from: fixture.alex)
        #expect(await fixture.receive(fixture.blair).receivedBodies == ["my own address"])
        var proton = try fixture.alex.proton()
        let retired = proton.block()
        try fixture.alex.store.saveProton(fixture.alex.protonID, proton)
        for route in retired {
            let service = fixture.alex.inProcess.first { $0.serviceURI == route.route.serviceURI }!
            try await service.retire(route.ownedAddress)
        }
        let sent = try await fixture.send("still there?", from: fixture.blair)
        #expect(sent.events.contains { if case .addressRetired = $0 { true } else { false } })
        // The invite's address was this relationship's alone: retired at the service with the rest.
        let inviteAddress = try fixture.alex.store.messages(protonID: fixture.alex.protonID).first { $0.direction == .incoming }?.address
        #expect(inviteAddress != nil && retired.contains { $0.address.hex == inviteAddress }, "the invite's address is retired too")
        #expect(await fixture.receive(fixture.alex).receivedBodies.isEmpty)
        #expect(try fixture.alex.log(.incoming) == ["Hello Alex, it's Blair."])
        await #expect(throws: Proton.Error.blocked) { try await fixture.send("hello?", from: fixture.alex) }
    }
}

extension [ReceiveEvent] {
    var retiredAtService: Int { filter { if case .addressRetiredAtService = $0 { true } else { false } }.count }
}
