import Foundation
import ProtonAgents
import ProtonCore
import ProtonServices
import ProtonStore
import Testing

/// The agents against real sending and receiving services on loopback ports.
///
/// `PROTON_E2E_MESSAGES` changes the number of messages each way (default 1,000) and
/// `PROTON_E2E_TRACE` prints each round on stderr, for a quicker or a closer look.
struct EndToEndTests {
    private static let trace = ProcessInfo.processInfo.environment["PROTON_E2E_TRACE"] != nil

    private static func note(_ text: String) {
        if trace { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }

    /// Both profiles share two sending and two receiving services; addresses rotate every 40
    /// messages; receiving service 0 — a `proton serve receiving` process — is killed with
    /// SIGKILL at 45% of the run and restarted on its port and data at 55%. Every message must
    /// arrive exactly once, in order, and the outboxes empty.
    @Test(.timeLimit(.minutes(10)))
    func aThousandMessagesEachWayArriveOnceInOrderAcrossRotationAndARestart() async throws {
        let services = try await LoopbackServices(receivingProcesses: [0])
        var fixture = try await AgentFixture(
            alexServices: services.mailboxes, blairServices: services.mailboxes, relays: services.relays,
            policy: RotationPolicy(messagesPerAddress: 40, retirementGrace: 90))
        fixture.step = 1
        let perSide = Int(ProcessInfo.processInfo.environment["PROTON_E2E_MESSAGES"] ?? "") ?? 1_000
        let batch = 10
        let outage = (perSide / batch * 45 / 100)..<(perSide / batch * 55 / 100)
        var rotations = 0
        var outageRotations = 0
        for round in 0..<(perSide / batch) {
            Self.note("round \(round)")
            if round == outage.lowerBound { await services.stopReceiving(0) }
            if round == outage.upperBound { try await services.restartReceiving(0) }
            for index in 1...batch {
                let sent = try await fixture.send("Alex \(round * batch + index)", from: fixture.alex)
                if sent.rotatedTo != nil { rotations += 1 }
                if sent.rotatedTo != nil, outage.contains(round) { outageRotations += 1 }
            }
            Self.note("  Blair: \(await fixture.receive(fixture.blair).count) events")
            for index in 1...batch {
                if try await fixture.send("Blair \(round * batch + index)", from: fixture.blair).rotatedTo != nil { rotations += 1 }
            }
            await fixture.receive(fixture.alex)
        }
        // Whatever waited out the outage goes now.
        for _ in 0..<20 {
            let pending = try fixture.alex.store.outbox().count + fixture.blair.store.outbox().count
            let complete = try fixture.blair.log(.incoming).count == perSide && fixture.alex.log(.incoming).count == perSide + 1
            if pending == 0 && complete { break }
            let now = fixture.clock.advance()
            _ = await fixture.alex.sender.flush(now: now, ignoringBackoff: true)
            _ = await fixture.blair.sender.flush(now: now, ignoringBackoff: true)
            _ = await fixture.blair.receiver.poll(wait: 1, now: now)
            _ = await fixture.alex.receiver.poll(wait: 1, now: now)
        }

        #expect(try fixture.blair.log(.incoming) == (1...perSide).map { "Alex \($0)" })
        #expect(try fixture.alex.log(.incoming) == ["Hello Alex, it's Blair."] + (1...perSide).map { "Blair \($0)" })
        #expect(try fixture.alex.store.outbox().isEmpty)
        #expect(try fixture.blair.store.outbox().isEmpty)
        #expect(rotations >= perSide / 20)
        #expect(outageRotations >= 1)
        let retired = try fixture.alex.proton().ownRoutes.filter { $0.state == .retired }.count
            + fixture.blair.proton().ownRoutes.filter { $0.state == .retired }.count
        #expect(retired >= min(perSide / 40, 10))
        fixture.tearDown()
        await services.stopAll()
    }
}
