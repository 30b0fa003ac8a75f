import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

struct ProtonTests {
    static let rotating = RotationPolicy(messagesPerAddress: 2, addressLifetime: 86400, retirementGrace: 600)

    // MARK: - Starting and talking

    @Test func startsFromAnInviteAndTalksBothWays() throws {
        var r = try Relationship(seed: "invite start")
        #expect(r.firstReceived.text == "hello Bob")
        #expect(r.firstReceived.appliedUpdates.map(\.change) == [.displayName("Alice"), .addRoute(r.aliceRoute.route)])
        #expect(r.alice.role == .initiator && r.bob.role == .responder)
        #expect(r.alice.peerIdentity == r.bob.ourIdentity && r.bob.peerIdentity == r.alice.ourIdentity)
        #expect(r.bob.peerDisplayName == "Alice")
        #expect(r.alice.sendingRoutes == [r.inviteRoute.route])
        #expect(r.bob.sendingRoutes == [r.aliceRoute.route])
        #expect(r.bob.state(of: r.inviteRoute.address) == .active)
        #expect(r.bob.ownRoute(r.inviteRoute.address)?.isShared == false, "a single-use invite's address is this relationship's alone")
        #expect(r.bob.state(of: r.bobRoute.address) == .offered(sequence: 2))

        let reply = try r.bobSeals("hello Alice")
        #expect(reply.routes == [r.aliceRoute.route])
        let atAlice = try r.aliceOpens(reply)
        #expect(atAlice.text == "hello Alice")
        #expect(atAlice.acknowledgedAddresses == [r.aliceRoute.address])
        #expect(r.alice.peerDisplayName == "Bob")
        #expect(r.alice.sendingRoutes.first == r.bobRoute.route)

        for index in 0..<3 {
            #expect(try r.bobOpens(try r.aliceSeals("a\(index)")).text == "a\(index)")
            #expect(try r.aliceOpens(try r.bobSeals("b\(index)")).text == "b\(index)")
        }
        #expect(r.alice.messagesSent == 4 && r.alice.messagesReceived == 4)
        #expect(r.bob.messagesSent == 4 && r.bob.messagesReceived == 4)
        #expect(r.alice.pendingUpdates.isEmpty)
        #expect(r.bob.pendingUpdates.isEmpty)
    }

    @Test func bothSidesComputeTheSameSafetyNumberAndRelationshipID() throws {
        let r = try Relationship(seed: "safety number")
        #expect(r.alice.safetyNumber == r.bob.safetyNumber)
        #expect(r.alice.safetyNumber == SafetyNumber(r.bob.ourIdentity, r.alice.ourIdentity))
        #expect(r.alice.safetyNumber.digits.count == 60)
        #expect(r.alice.safetyNumber.digits.allSatisfy { $0.isASCII && $0.isNumber })
        #expect(r.alice.safetyNumber.description.split(separator: " ").map(\.count) == Array(repeating: 5, count: 12))
        #expect(r.alice.relationshipID == r.bob.relationshipID)
        #expect(r.alice.relationshipID.count == 16)

        let other = try Relationship(seed: "another safety number")
        #expect(other.alice.safetyNumber != r.alice.safetyNumber)
        #expect(other.alice.relationshipID != r.alice.relationshipID)
    }

    // MARK: - Rotation

    @Test func completesAWholeRotationCycle() throws {
        var r = try Relationship(seed: "rotation cycle", policy: Self.rotating)
        let a1 = r.aliceRoute.address
        #expect(!r.alice.rotationDue(now: testNow))  // one message, and A1 not yet acknowledged
        #expect(r.alice.state(of: a1) == .offered(sequence: 2))
        #expect(r.alice.receivingAddresses(now: testNow).map(\.address) == [a1])

        let reply = try r.bobSeals("hi Alice")
        #expect(try r.aliceOpens(reply).acknowledgedAddresses == [a1])
        #expect(r.alice.state(of: a1) == .active)
        #expect(r.alice.messagesSinceRotation == Self.rotating.messagesPerAddress)
        #expect(r.alice.rotationDue(now: testNow))

        // Alice offers a fresh address.
        let fresh = try r.routes.ownRoute()
        let a2 = fresh.address
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)
        #expect(r.alice.state(of: a2) == .offered(sequence: 3))
        #expect(r.alice.state(of: a1) == .active)
        #expect(!r.alice.rotationDue(now: testNow))  // the offer waits for its acknowledgement
        #expect(Set(r.alice.receivingAddresses(now: testNow).map(\.address)) == [a1, a2])

        // Bob receives the addRoute update and prefers the new route.
        let offer = try r.aliceSeals("a new address for you")
        let atBob = try r.bobOpens(offer)
        #expect(atBob.appliedUpdates.contains(ProtonUpdate(sequence: 3, change: .addRoute(fresh.route))))
        #expect(r.bob.sendingRoutes.first == fresh.route)
        #expect(r.bob.sendingRoutes.contains(r.aliceRoute.route))  // still usable until retired

        // Bob's reply acknowledges it: the new route is active, the old one retiring.
        let ack = try r.bobSeals("noted")
        #expect(ack.routes.first?.address == a2)
        let atAlice = try r.aliceOpens(ack)
        #expect(atAlice.acknowledgedAddresses == [a2])
        #expect(atAlice.retiringAddresses == [a1])
        #expect(r.alice.state(of: a2) == .active)
        #expect(r.alice.state(of: a1) == .retiring(since: testNow))
        #expect(r.alice.pendingUpdates.map(\.change) == [.retireAddress(a1)])

        // Bob removes the old route when the retireAddress update arrives.
        let retire = try r.aliceSeals("please stop using the old one")
        let atBob2 = try r.bobOpens(retire)
        #expect(atBob2.appliedUpdates.map(\.change).contains(.retireAddress(a1)))
        #expect(!r.bob.sendingRoutes.contains(r.aliceRoute.route))
        #expect(r.bob.sendingRoutes.first == fresh.route)
        _ = try r.aliceOpens(try r.bobSeals("ok"), now: testNow + 10)
        #expect(r.alice.pendingUpdates.isEmpty)

        // The old address accepts messages during the grace period, then retires.
        #expect(r.alice.receivingAddresses(now: testNow + 599).map(\.address).contains(a1))
        #expect(r.alice.completeRetirements(now: testNow + 599).isEmpty)
        #expect(r.alice.state(of: a1) == .retiring(since: testNow))
        let finished = r.alice.completeRetirements(now: testNow + 600)
        #expect(finished.map(\.address) == [a1])
        #expect(r.alice.state(of: a1) == .retired)
        #expect(r.alice.receivingAddresses(now: testNow + 600).map(\.address) == [a2])
        #expect(r.alice.completeRetirements(now: testNow + 700).isEmpty)  // only once

        // With no offer pending and four messages on the new address, the next rotation is due.
        #expect(r.alice.messagesSinceRotation == 4)
        #expect(r.alice.rotationDue(now: testNow + 700))
    }

    @Test func rotationFallsDueAfterTheAddressLifetime() throws {
        var r = try Relationship(
            seed: "rotation by time", policy: RotationPolicy(messagesPerAddress: 1000, addressLifetime: 3600))
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        #expect(!r.alice.rotationDue(now: testNow + 3599))
        #expect(r.alice.rotationDue(now: testNow + 3600))
        let fresh = try r.routes.ownRoute()
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow + 3600)
        #expect(!r.alice.rotationDue(now: testNow + 7199))
        #expect(r.alice.lastRotation == testNow + 3600)
    }

    @Test func refusesMessageForRetiredAddressWithStateUnchanged() throws {
        var r = try Relationship(seed: "retired address", policy: Self.rotating)
        let a1 = r.aliceRoute.address
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let fresh = try r.routes.ownRoute()
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)
        _ = try r.bobOpens(try r.aliceSeals("new address"))
        _ = try r.aliceOpens(try r.bobSeals("ack"))
        #expect(r.alice.completeRetirements(now: testNow + 600).map(\.address) == [a1])

        let late = try r.bobSeals("sent to the old address")
        let before = ProtonSnapshot(r.alice)
        #expect(throws: Proton.Error.retiredAddress(a1)) { try r.aliceOpens(late, at: a1, now: testNow + 600) }
        #expect(ProtonSnapshot(r.alice) == before)
        // The same ciphertext is still good at a live address: nothing was consumed.
        #expect(try r.aliceOpens(late, at: fresh.address, now: testNow + 600).text == "sent to the old address")
    }

    @Test func refusesMessageForUnknownAddressWithStateUnchanged() throws {
        var r = try Relationship(seed: "unknown address")
        let message = try r.bobSeals("hi")
        let stranger = AddressID(random: DeterministicRandom(seed: "stranger"))
        let before = ProtonSnapshot(r.alice)
        #expect(throws: Proton.Error.unknownAddress(stranger)) { try r.aliceOpens(message, at: stranger) }
        // Bob's own address is not one Alice issued either.
        #expect(throws: Proton.Error.unknownAddress(r.bobRoute.address)) {
            try r.aliceOpens(message, at: r.bobRoute.address)
        }
        #expect(ProtonSnapshot(r.alice) == before)
        #expect(try r.aliceOpens(message).text == "hi")
    }

    @Test(arguments: [false, true])
    func rotationOfTheResponderRetiresTheFirstContactRouteAtThePeer(viaKeyPackage: Bool) throws {
        var r = try Relationship(seed: "first contact retirement", policy: Self.rotating, viaKeyPackage: viaKeyPackage)
        let invite = r.inviteRoute.address
        #expect(r.bob.ownRoute(invite)?.isShared == viaKeyPackage)
        // Alice's reply acknowledges Bob's own route: the first-contact route starts retiring.
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let atBob = try r.bobOpens(try r.aliceSeals("hi again"))
        #expect(atBob.acknowledgedAddresses == [r.bobRoute.address])
        #expect(atBob.retiringAddresses == [invite])
        #expect(r.bob.state(of: invite) == .retiring(since: testNow))
        // Alice is told to stop using it, so she never fails over to an address Bob refuses.
        _ = try r.aliceOpens(try r.bobSeals("use my own address"))
        #expect(r.alice.sendingRoutes == [r.bobRoute.route])
        // Bob retires it for this relationship; at the service too, unless a key package's
        // address, which others who fetched the package still write to.
        #expect(r.bob.completeRetirements(now: testNow + 600).map(\.address) == (viaKeyPackage ? [] : [invite]))
        #expect(r.bob.state(of: invite) == .retired)
        let late = try r.aliceSeals("late")
        #expect(throws: Proton.Error.retiredAddress(invite)) { try r.bobOpens(late, at: invite, now: testNow + 600) }
    }

    // MARK: - Blocking

    @Test func blockingRetiresEveryAddressGivenToThePeer() throws {
        var r = try Relationship(seed: "block")
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let extra = try r.routes.ownRoute()
        try r.alice.issue(extra.route, authKey: extra.authKey, now: testNow)
        let inFlight = try r.bobSeals("in flight")

        let retired = r.alice.block()
        #expect(Set(retired.map(\.address)) == [r.aliceRoute.address, extra.address])
        #expect(r.alice.ownRoutes.allSatisfy { $0.state == .retired })
        #expect(r.alice.isBlocked)
        #expect(!r.alice.canSend)
        #expect(r.alice.receivingAddresses(now: testNow).isEmpty)
        #expect(r.alice.pendingUpdates.isEmpty)
        #expect(!r.alice.rotationDue(now: testNow + 1e9))

        let before = ProtonSnapshot(r.alice)
        for address in [r.aliceRoute.address, extra.address] {
            #expect(throws: Proton.Error.blocked) { try r.aliceOpens(inFlight, at: address) }
        }
        #expect(throws: Proton.Error.blocked) { try r.aliceSeals("anything") }
        #expect(throws: Proton.Error.blocked) {
            try r.alice.issue(try r.routes.route(), authKey: Ed25519.PrivateKey(using: r.random), now: testNow)
        }
        #expect(ProtonSnapshot(r.alice) == before)
        #expect(r.alice.block().isEmpty)  // nothing left to retire
    }

    @Test(arguments: [false, true])
    func blockingByTheResponderRetiresTheFirstContactRouteUnlessShared(viaKeyPackage: Bool) throws {
        var r = try Relationship(seed: "responder blocks", viaKeyPackage: viaKeyPackage)
        let message = try r.aliceSeals("hi")
        let retired = r.bob.block()
        // An invite's address goes with the relationship; a key package's stays for the others.
        #expect(Set(retired.map(\.address)) == Set(viaKeyPackage ? [r.bobRoute.address] : [r.bobRoute.address, r.inviteRoute.address]))
        #expect(r.bob.ownRoutes.allSatisfy { $0.state == .retired })
        #expect(throws: Proton.Error.blocked) { try r.bobOpens(message, at: r.inviteRoute.address) }
        #expect(throws: Proton.Error.blocked) { try r.bobOpens(message, at: r.bobRoute.address) }
    }

    // MARK: - Lost and repeated messages

    @Test func lostMessagesDoNotDesynchroniseTheUpdates() throws {
        var r = try Relationship(seed: "lost messages", policy: Self.rotating)
        let a1 = r.aliceRoute.address
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let fresh = try r.routes.ownRoute()
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)

        // Three messages carry the addRoute update; the first two are lost.
        let m1 = try r.aliceSeals("m1")
        let m2 = try r.aliceSeals("m2")
        let m3 = try r.aliceSeals("m3")
        #expect(r.alice.pendingUpdates.map(\.change) == [.addRoute(fresh.route)])
        let atBob = try r.bobOpens(m3)
        #expect(atBob.appliedUpdates.map(\.change).contains(.addRoute(fresh.route)))
        #expect(r.bob.sendingRoutes.first == fresh.route)

        // Bob's first acknowledgement is lost too; the second arrives.
        let r1 = try r.bobSeals("r1")
        let r2 = try r.bobSeals("r2")
        let atAlice = try r.aliceOpens(r2)
        #expect(atAlice.acknowledgedAddresses == [fresh.address])
        #expect(atAlice.retiringAddresses == [a1])

        // The retireAddress update: the first message carrying it is lost.
        let m4 = try r.aliceSeals("m4")
        let m5 = try r.aliceSeals("m5")
        #expect(try r.bobOpens(m5).appliedUpdates.map(\.change).contains(.retireAddress(a1)))
        #expect(!r.bob.sendingRoutes.contains(r.aliceRoute.route))

        // The lost messages turn up late after all: bodies delivered, updates not applied twice.
        let bobRoutes = r.bob.sendingRoutes
        for (message, text) in [(m1, "m1"), (m4, "m4"), (m2, "m2")] {
            let late = try r.bobOpens(message)
            #expect(late.text == text)
            #expect(late.appliedUpdates.isEmpty)
            #expect(late.acknowledgedAddresses.isEmpty)
        }
        #expect(r.bob.sendingRoutes == bobRoutes)
        #expect(!r.bob.sendingRoutes.contains(r.aliceRoute.route))
        let lateAck = try r.aliceOpens(r1)
        #expect(lateAck.text == "r1")
        #expect(lateAck.acknowledgedAddresses.isEmpty && lateAck.retiringAddresses.isEmpty)
        #expect(r.alice.state(of: fresh.address) == .active)
        #expect(r.alice.state(of: a1) == .retiring(since: testNow))

        // One more exchange each way and nothing is pending on either side.
        _ = try r.aliceOpens(try r.bobSeals("r3"))
        _ = try r.bobOpens(try r.aliceSeals("m6"))
        #expect(r.alice.pendingUpdates.isEmpty)
        #expect(r.bob.pendingUpdates.isEmpty)
        #expect(r.alice.peerUpdatesApplied == r.bob.nextUpdateSequence - 1)
        #expect(r.bob.peerUpdatesApplied == r.alice.nextUpdateSequence - 1)
        #expect(r.bob.sendingRoutes == [fresh.route])
        #expect(r.alice.sendingRoutes == [r.bobRoute.route])
    }

    @Test func repeatedUpdatesAreAppliedOnce() throws {
        var r = try Relationship(seed: "repeated updates")
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let fresh = try r.routes.ownRoute()
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)
        let first = try r.aliceSeals("first")
        let second = try r.aliceSeals("second")  // repeats the update: no acknowledgement yet

        let got = try r.bobOpens(first)
        #expect(got.appliedUpdates.map(\.change).contains(.addRoute(fresh.route)))
        let routesAfterFirst = r.bob.sendingRoutes
        let applied = r.bob.peerUpdatesApplied
        let again = try r.bobOpens(second)
        #expect(again.text == "second")
        #expect(again.appliedUpdates.isEmpty)
        #expect(r.bob.sendingRoutes == routesAfterFirst)
        #expect(r.bob.sendingRoutes.filter { $0 == fresh.route }.count == 1)
        #expect(r.bob.peerUpdatesApplied == applied)

        // An identical ciphertext delivered twice is a ratchet duplicate and changes nothing.
        let before = ProtonSnapshot(r.bob)
        #expect(throws: Proton.Error.ratchet(.duplicateMessage)) { try r.bobOpens(second) }
        #expect(ProtonSnapshot(r.bob) == before)
    }

    @Test func ignoresAnAcknowledgementOfUpdatesNeverSent() throws {
        var r = try Relationship(seed: "forged ack")
        // Bob claims to have applied 100 of Alice's updates; she has sent 2.
        r.bob.peerUpdatesApplied = 100
        let atAlice = try r.aliceOpens(try r.bobSeals("hi"))
        #expect(atAlice.acknowledgedAddresses == [r.aliceRoute.address])
        let fresh = try r.routes.ownRoute()
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)
        #expect(r.alice.pendingUpdates.map(\.change) == [.addRoute(fresh.route)])
        #expect(r.alice.state(of: fresh.address) == .offered(sequence: 3))
    }

    // MARK: - Refusals that change nothing

    @Test func refusesMalformedPayloadWithStateUnchanged() throws {
        var r = try Relationship(seed: "malformed payload")
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        // A ratchet message that authenticates but carries no proton payload.
        let raw = try r.alice.ratchet.encrypt(Array("not a payload".utf8), associatedData: r.alice.associatedData, random: r.random)
        let before = ProtonSnapshot(r.bob)
        #expect(throws: Proton.Error.malformedPayload(.unexpectedFormat(expected: .protonPayload, actual: UInt8(ascii: "n")))) {
            try r.bob.open(raw, at: r.bobRoute.address, now: testNow, random: r.random)
        }
        #expect(ProtonSnapshot(r.bob) == before)
    }

    @Test func refusesTamperedMessageWithStateUnchanged() throws {
        var r = try Relationship(seed: "tampered proton message")
        let message = try r.bobSeals("hi")
        let before = ProtonSnapshot(r.alice)
        #expect(throws: Proton.Error.ratchet(.authenticationFailure)) {
            try r.alice.open(message.ciphertext.flipping(byte: message.ciphertext.count - 1), at: r.aliceRoute.address, now: testNow, random: r.random)
        }
        #expect(throws: Proton.Error.ratchet(.undecryptableHeader)) {
            try r.alice.open(message.ciphertext.flipping(byte: 10), at: r.aliceRoute.address, now: testNow, random: r.random)
        }
        #expect(ProtonSnapshot(r.alice) == before)
        #expect(try r.aliceOpens(message).text == "hi")
    }

    @Test func refusesBodyTooLargeForOneMessage() throws {
        var r = try Relationship(seed: "large body")
        let before = ProtonSnapshot(r.alice)
        do {
            defer { #expect(ProtonSnapshot(r.alice) == before) }
            _ = try r.alice.seal([UInt8](repeating: 1, count: 65535), now: testNow, random: r.random)
            Issue.record("a 65,535-byte body fits no message once the payload is added")
        } catch {
            guard case .bodyTooLarge(let limit) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(try r.alice.seal([UInt8](repeating: 1, count: limit), now: testNow, random: r.random).ciphertext.count
                == DoubleRatchet.ciphertextByteCount(bucket: 65536))
        }
    }

    // MARK: - Persistence

    @Test func continuesAfterSerializedStateRoundTrip() throws {
        var r = try Relationship(seed: "proton persistence", policy: Self.rotating)
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let fresh = try r.routes.ownRoute()
        try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)
        let m1 = try r.aliceSeals("m1")  // delivered after the restore, from a skipped key
        let m2 = try r.aliceSeals("m2")
        _ = try r.bobOpens(m2)
        let inFlight = try r.bobSeals("r1")  // acknowledges the new route

        for side in [r.alice, r.bob] {
            let state = side.serializedState()
            let restored = try Proton(serializedState: state, skippedKeys: side.skippedKeys)
            #expect(ProtonSnapshot(restored) == ProtonSnapshot(side))
            #expect(restored.role == side.role)
            #expect(restored.peerIdentity == side.peerIdentity)
            #expect(restored.peerDisplayName == side.peerDisplayName)
            #expect(restored.policy == side.policy)
            #expect(restored.sendingRoutes == side.sendingRoutes)
            #expect(restored.ownRoutes.map(\.address) == side.ownRoutes.map(\.address))
            #expect(restored.ownRoutes.map(\.state) == side.ownRoutes.map(\.state))
            #expect(restored.ownRoutes.map(\.isShared) == side.ownRoutes.map(\.isShared))
            #expect(restored.ownRoutes.map(\.authKey.publicKey) == side.ownRoutes.map(\.authKey.publicKey))
            #expect(restored.pendingUpdates == side.pendingUpdates)
            #expect(restored.establishedAt == testNow)
            #expect(restored.relationshipID == side.relationshipID)
        }
        #expect(r.bob.skippedKeys.count == 1)
        r.alice = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
        r.bob = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)

        #expect(try r.bobOpens(m1).text == "m1")
        let atAlice = try r.aliceOpens(inFlight)
        #expect(atAlice.acknowledgedAddresses == [fresh.address])
        #expect(try r.bobOpens(try r.aliceSeals("m3")).appliedUpdates.map(\.change).contains(.retireAddress(r.aliceRoute.address)))
        #expect(!r.bob.sendingRoutes.contains(r.aliceRoute.route))
    }

    @Test func refusesTruncatedOrExtendedProtonState() throws {
        let r = try Relationship(seed: "proton state parse")
        let bytes = r.alice.serializedState().unsafeExportedBytes()
        for length in [0, 1, 2, 66, 100, bytes.count - 1] {
            #expect(throws: WireError.self) { try Proton(serializedState: SecureBytes(bytes.prefix(length)), skippedKeys: []) }
        }
        #expect(throws: WireError.trailingBytes(count: 1)) {
            try Proton(serializedState: SecureBytes(bytes + [0]), skippedKeys: [])
        }
        #expect(throws: WireError.self) {
            try Proton(serializedState: SecureBytes(bytes.replacing(bigEndian: 9, at: 0, count: 1)), skippedKeys: [])
        }
    }
}
