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
        let perSide = Self.messagesPerSide
        let outage = (perSide / Self.batch * 45 / 100)..<(perSide / Self.batch * 55 / 100)
        let run = try await Self.exchange(mailboxes: services.mailboxes, relays: services.relays, perSide: perSide, watching: outage) { round in
            if round == outage.lowerBound { await services.stopReceiving(0) }
            if round == outage.upperBound { try await services.restartReceiving(0) }
        }
        #expect(run.rotationsWatched >= 1)
        run.fixture.tearDown()
        await services.stopAll()
    }

    /// The same run on PostgreSQL: each of the four services is two `proton serve` instances
    /// on one database behind a round-robin proxy, and at half-way one instance of each is
    /// killed with SIGKILL. Every message arrives exactly once and in order, the outboxes
    /// empty, and the sending services' databases count how often each message was forwarded.
    @Test(.timeLimit(.minutes(10)))
    func aThousandMessagesEachWayArriveOnceInOrderWithTwoInstancesPerServiceAndOneOfEachKilled() async throws {
        let services = try await SharedDatabaseServices()
        let perSide = Self.messagesPerSide
        let killed = perSide / Self.batch / 2
        let run = try await Self.exchange(mailboxes: services.mailboxes, relays: services.relays, perSide: perSide, watching: killed..<killed) { round in
            if round == killed { services.killOneInstanceOfEach() }
        }
        var forwarded = 0
        var forwardedTwice = 0
        for service in services.sending {
            #expect(try services.query(service, "SELECT COUNT(*) FROM sending_outbox WHERE state = 'queued'") == ["0"])
            forwarded += Int(try services.query(service, "SELECT COUNT(*) FROM sending_outbox").first ?? "") ?? -1
            forwardedTwice += Int(try services.query(service, "SELECT COUNT(*) FROM sending_outbox WHERE forwards > 1").first ?? "") ?? -1
        }
        // Messages and their resends through either relay, each once in the outbox tables.
        #expect(forwarded >= 2 * perSide)
        // Only a message that the killed instance had sent but not yet recorded can go twice
        // (the receiving service stores it once: its envelope's replay tag).
        Self.report(
            "shared database: \(forwarded) outbox rows, \(forwardedTwice) forwarded more than once, \(run.duplicatesDropped) duplicates dropped by the receive agents")
        let policy = ForwardingPolicy()
        #expect(forwardedTwice <= services.sending.count * policy.concurrency * policy.batchSize)
        run.fixture.tearDown()
        await services.stopAll()
    }

    private static let batch = 10
    private static var messagesPerSide: Int { Int(ProcessInfo.processInfo.environment["PROTON_E2E_MESSAGES"] ?? "") ?? 1_000 }

    private static func report(_ text: String) {
        FileHandle.standardError.write(Data(("e2e: " + text + "\n").utf8))
    }

    struct Run {
        let fixture: AgentFixture
        /// Rotations during the rounds watched (an outage, say).
        let rotationsWatched: Int
        let duplicatesDropped: Int
    }

    /// Alex and Blair exchange `perSide` messages each way over the services, in rounds of
    /// `batch`, addresses rotating every 40 messages; `event` runs before each round. Then
    /// whatever waited out an outage goes, and the exchange is checked: every message once,
    /// in order, both outboxes empty, rotations and retirements done.
    private static func exchange(
        mailboxes: [any Mailbox], relays: [any Relay], perSide: Int, watching: Range<Int>, event: (Int) async throws -> Void
    ) async throws -> Run {
        var fixture = try await AgentFixture(
            alexServices: mailboxes, blairServices: mailboxes, relays: relays, policy: RotationPolicy(messagesPerAddress: 40, retirementGrace: 90))
        fixture.step = 1
        var rotations = 0
        var watchedRotations = 0
        var duplicates = 0
        for round in 0..<(perSide / batch) {
            note("round \(round)")
            try await event(round)
            for index in 1...batch {
                let sent = try await fixture.send("Alex \(round * batch + index)", from: fixture.alex)
                if sent.rotatedTo != nil { rotations += 1 }
                if sent.rotatedTo != nil, watching.contains(round) { watchedRotations += 1 }
            }
            let blairEvents = await fixture.receive(fixture.blair)
            duplicates += blairEvents.duplicates
            note("  Blair: \(blairEvents.count) events")
            for index in 1...batch {
                if try await fixture.send("Blair \(round * batch + index)", from: fixture.blair).rotatedTo != nil { rotations += 1 }
            }
            duplicates += await fixture.receive(fixture.alex).duplicates
        }
        // Whatever waited out the outage goes now (a killed sending instance's messages wait
        // for its claims' lease to end: about a minute and a half).
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline {
            let pending = try fixture.alex.store.outbox().count + fixture.blair.store.outbox().count
            let complete = try fixture.blair.log(.incoming).count == perSide && fixture.alex.log(.incoming).count == perSide + 1
            if pending == 0 && complete { break }
            let now = fixture.clock.advance()
            _ = await fixture.alex.sender.flush(now: now, ignoringBackoff: true)
            _ = await fixture.blair.sender.flush(now: now, ignoringBackoff: true)
            duplicates += await fixture.blair.receiver.poll(wait: 1, now: now).duplicates
            duplicates += await fixture.alex.receiver.poll(wait: 1, now: now).duplicates
        }

        #expect(try fixture.blair.log(.incoming) == (1...perSide).map { "Alex \($0)" })
        #expect(try fixture.alex.log(.incoming) == ["Hello Alex, it's Blair."] + (1...perSide).map { "Blair \($0)" })
        #expect(try fixture.alex.store.outbox().isEmpty)
        #expect(try fixture.blair.store.outbox().isEmpty)
        #expect(rotations >= perSide / 20)
        let retired = try fixture.alex.proton().ownRoutes.filter { $0.state == .retired }.count
            + fixture.blair.proton().ownRoutes.filter { $0.state == .retired }.count
        #expect(retired >= min(perSide / 40, 10))
        return Run(fixture: fixture, rotationsWatched: watchedRotations, duplicatesDropped: duplicates)
    }
}
