import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// A randomised state-machine test of rotation over ProtonCore itself: two protons talk through
/// a network that loses, duplicates, delays and reorders messages, while both sides rotate (on
/// their policy and by hand), restart from their stored state, run their agents' retirement
/// rounds and let time pass. After every step:
/// - each side's state stays within the limits its loader accepts, and reloads; after each of
///   the agents' retirement rounds it is back within `maximumOwnRoutes`;
/// - each side can reach the other: at least one of its routes to the peer is an address the
///   peer accepts messages at (until one side blocks);
/// - no message is opened twice.
struct RotationModelTests {
    /// A small deterministic generator for the choices (SplitMix64).
    struct Choices {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    struct InFlight {
        let id: Int
        let toBob: Bool
        let message: Proton.OutgoingMessage
    }

    struct Counts {
        var sent = 0
        var opened = 0
        var duplicatesRefused = 0
        var dropped = 0
        var retiredOnArrival = 0
        var rotations = 0
        var restarts = 0
        var earlyRetirements = 0
    }

    static let steps = 10_000

    /// Seeds 4 and 5 run a clock that barely moves against an hour of grace: rotations far
    /// faster than replaced addresses retire, as `proton rotate` in a loop does.
    @Test(arguments: [1, 2, 3, 4, 5])
    func tenThousandStepsKeepEveryLimitAndALiveRouteEachWay(seed: UInt64) throws {
        let slowClock = seed >= 4
        let policy = RotationPolicy(messagesPerAddress: 3, addressLifetime: 3_600, retirementGrace: slowClock ? 3_600 : 900)
        var r = try Relationship(seed: "rotation model \(seed)", policy: policy)
        var choices = Choices(state: seed)
        var now = testNow
        var network: [InFlight] = []
        var openedIDs = Set<Int>()
        var counts = Counts()
        var blockedAt: Int?
        let routes = r.routes
        let random = r.random
        // One run in three blocks near its end, so that blocking is part of the walk.
        let blockStep = seed % 3 == 0 ? Self.steps - 500 : nil

        func fresh(_ side: inout Proton) throws {
            guard !side.isBlocked else { return }
            do {
                try side.issue(try routes.route(), authKey: Ed25519.PrivateKey(using: random), now: now)
                counts.rotations += 1
            } catch Proton.Error.tooManyPendingUpdates {
                // Too many offers unacknowledged: the agents wait, and so does the model.
            }
        }

        func send(fromAlice: Bool) throws {
            var side = fromAlice ? r.alice : r.bob
            defer { if fromAlice { r.alice = side } else { r.bob = side } }
            guard side.canSend else { return }
            if side.rotationDue(now: now) { try fresh(&side) }
            let message = try side.seal(Array("m\(counts.sent)".utf8), now: now, random: random)
            network.append(InFlight(id: counts.sent, toBob: fromAlice, message: message))
            counts.sent += 1
        }

        /// Tries the sender's routes in order, as the send agent fails over on "gone".
        func deliver(_ item: InFlight) throws {
            var receiver = item.toBob ? r.bob : r.alice
            defer { if item.toBob { r.bob = receiver } else { r.alice = receiver } }
            for route in item.message.routes {
                do {
                    _ = try receiver.open(item.message.ciphertext, at: route.address, now: now, random: random)
                    #expect(openedIDs.insert(item.id).inserted, "message \(item.id) opened twice")
                    counts.opened += 1
                    return
                } catch .unknownAddress, .retiredAddress {
                    continue
                } catch .blocked {
                    return
                } catch .ratchet(.duplicateMessage) {
                    counts.duplicatesRefused += 1
                    return
                }
            }
            counts.retiredOnArrival += 1
        }

        for step in 0..<Self.steps {
            if step == blockStep {
                _ = r.bob.block()
                blockedAt = step
            }
            switch choices.below(100) {
            case 0..<15: try send(fromAlice: true)
            case 15..<30: try send(fromAlice: false)
            case 30..<66 where !network.isEmpty:
                // Mostly the oldest, sometimes any: delays and reordering.
                let index = choices.below(4) == 0 ? choices.below(network.count) : 0
                try deliver(network.remove(at: index))
            case 66..<70 where !network.isEmpty:
                network.remove(at: choices.below(network.count))
                counts.dropped += 1
            case 70..<74 where !network.isEmpty:
                network.append(network[choices.below(network.count)])
            case 74..<78:
                var side = r.alice
                try fresh(&side)
                r.alice = side
            case 78..<82:
                var side = r.bob
                try fresh(&side)
                r.bob = side
            case 82..<86:
                let before = r.alice.ownRoutes.count + r.bob.ownRoutes.count
                _ = r.alice.completeRetirements(now: now)
                _ = r.bob.completeRetirements(now: now)
                counts.earlyRetirements += max(0, before - r.alice.ownRoutes.count - r.bob.ownRoutes.count)
                // After the agents' round, within the kept bound.
                #expect(r.alice.ownRoutes.count <= Proton.maximumOwnRoutes, "step \(step)")
                #expect(r.bob.ownRoutes.count <= Proton.maximumOwnRoutes, "step \(step)")
            case 86..<90:
                if choices.below(2) == 0 {
                    r.alice = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
                } else {
                    r.bob = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)
                }
                counts.restarts += 1
            default:
                now = now.addingTimeInterval(TimeInterval(choices.below(slowClock ? 5 : 600)))
            }
            // The network holds what senders would still retry: bounded, like an outbox.
            if network.count > 200 { network.removeFirst(network.count - 200) }

            for side in [r.alice, r.bob] {
                #expect(side.ownRoutes.count <= Proton.hardOwnRouteLimit, "step \(step): \(side.ownRoutes.count) own routes")
                #expect(side.receivingAddresses(now: now).count <= Proton.maximumLiveOwnRoutes + ProtonPayload.maximumUpdates / 2 + 1)
                #expect(side.peerRoutes.count <= Proton.maximumPeerRoutes)
                #expect(side.pendingUpdates.count <= ProtonPayload.maximumUpdates)
            }
            if step % 50 == 0 {
                _ = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
                _ = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)
            }
            if blockedAt == nil {
                let bobAccepts = Set(r.bob.receivingAddresses(now: now).map(\.address))
                let aliceAccepts = Set(r.alice.receivingAddresses(now: now).map(\.address))
                #expect(r.alice.sendingRoutes.contains { bobAccepts.contains($0.address) }, "step \(step): Alice cannot reach Bob")
                #expect(r.bob.sendingRoutes.contains { aliceAccepts.contains($0.address) }, "step \(step): Bob cannot reach Alice")
            }
        }
        if blockedAt != nil {
            #expect(r.bob.receivingAddresses(now: now).isEmpty)
            #expect(throws: Proton.Error.blocked) { try r.bob.seal([1], now: now, random: r.random) }
        }
        // The walk did exercise what it claims to.
        #expect(counts.opened > 2_000)
        #expect(counts.rotations > 300)
        #expect(counts.restarts > 200)
        #expect(counts.duplicatesRefused > 50)
        print(
            "rotation model seed \(seed): \(Self.steps) steps, \(counts.sent) sent, \(counts.opened) opened once, "
                + "\(counts.duplicatesRefused) duplicates refused, \(counts.dropped) dropped, \(counts.retiredOnArrival) arrived after "
                + "their routes retired, \(counts.rotations) rotations, \(counts.restarts) restarts")
    }

    /// A stored state kept by a version without these bounds (more routes than the loader
    /// used to accept) still loads, and heals to the bounds.
    @Test func aStateOverTheLimitsLoadsAndHeals() throws {
        var r = try Relationship(seed: "over the limit")
        for index in 0..<40 {
            let state: OwnRoute.State = index < 30 ? .retiring(since: testNow) : (index < 35 ? .retired : .active)
            r.bob.ownRoutes.append(
                OwnRoute(route: try r.routes.route(), authKey: Ed25519.PrivateKey(using: r.random), state: state, issuedAt: testNow))
        }
        for _ in 0..<12 { r.alice.peerRoutes.append(PeerRoute(route: try r.routes.route(), addedAt: testNow)) }
        #expect(r.bob.ownRoutes.count > 32)

        let bob = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)
        let alice = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
        #expect(alice.peerRoutes.count == Proton.maximumPeerRoutes)
        #expect(bob.receivingAddresses(now: testNow).count <= Proton.maximumLiveOwnRoutes)
        // What it healed away from is retired at the service on the agents' next round, and
        // then the count is back within bounds.
        var agentRound = bob
        #expect(agentRound.completeRetirements(now: testNow).count >= 20)
        #expect(agentRound.ownRoutes.count <= Proton.maximumOwnRoutes)
        _ = try Proton(serializedState: agentRound.serializedState(), skippedKeys: agentRound.skippedKeys)
    }
}
