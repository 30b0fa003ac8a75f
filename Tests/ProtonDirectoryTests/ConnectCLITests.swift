import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import ProtonStore
import Testing

/// `proton directory publish` and `proton connect` as people run them: the built binary, a
/// brokered directory and real receiving and sending services on loopback, profiles on disk.
/// Each contact rule, the rate limit, and the receive agent completing the relationship.
@Suite("Brokered directory: publish and connect", .serialized)
struct ConnectCLITests {
    final class World {
        let sandbox: DirectoryCLISandbox
        let directory: DirectoryServiceFixture
        let receiving: RunningService
        let sending: RunningService

        init(limits: BrokerLimits = BrokerLimits()) async throws {
            sandbox = try DirectoryCLISandbox()
            directory = try await DirectoryServiceFixture.start(brokered: true, brokerLimits: limits)
            receiving = try await ReceivingService.start(
                configuration: ReceivingServiceConfiguration(dataDirectory: sandbox.root.appendingPathComponent("receiving")))
            sending = try await SendingService.start(
                configuration: SendingServiceConfiguration(
                    dataDirectory: sandbox.root.appendingPathComponent("sending"), forwarding: ForwardingPolicy(allowsPrivateTargets: true)))
        }

        func stop() async {
            await directory.stop()
            await receiving.stop()
            await sending.stop()
        }

        /// A profile using the services and the pinned directory; `register` also attests NAME@example.org.
        func person(_ name: String, register: Bool) async throws {
            try sandbox.createProfile(name, persona: name.capitalized)
            for arguments in [
                ["services", "add", "receiving", receiving.baseURL], ["services", "add", "sending", sending.baseURL],
                ["directory", "add", directory.url, "--key", directory.info.verifierKey],
            ] + (register ? [["directory", "register", name]] : []) {
                let result = try await run(name, arguments)
                try #require(result.status == 0, "\(arguments): \(result.stderr)")
            }
        }

        func run(_ profile: String, _ arguments: [String]) async throws -> DirectoryCLIResult {
            try await sandbox.run(profile, arguments: arguments)
        }

        func json(_ profile: String, _ arguments: [String], status: Int32 = 0, sourceLocation: SourceLocation = #_sourceLocation) async throws
            -> [String: Any]
        {
            let result = try await run(profile, arguments + ["--json"])
            try #require(result.status == status, "\(arguments) exited \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
            return try #require(try result.json() as? [String: Any], sourceLocation: sourceLocation)
        }

        /// What `proton receive` brings `profile`: (contact, body) pairs.
        func receive(_ profile: String) async throws -> [(String, String)] {
            let result = try await run(profile, ["receive", "--wait", "3", "--json"])
            try #require(result.status == 0, "\(result.stderr)")
            let entries = try #require(try result.json() as? [[String: Any]])
            return entries.map { ($0["contact"] as? String ?? "", $0["body"] as? String ?? "") }
        }

        func protonCount(_ profile: String) throws -> Int {
            let store = try ProfileStore.open(at: sandbox.profile(profile), passphrase: nil)
            defer { try? store.close() }
            return try store.protons().count
        }
    }

    @Test func openRuleConnectsVerifiedAndTheOwnersReceiveAgentCompletes() async throws {
        let world = try await World()
        try await world.person("carol", register: true)
        try await world.person("bob", register: false)
        let published = try await world.json("carol", ["directory", "publish", "--prekeys", "1"])
        #expect(published["oneTimePrekeys"] as? Int == 1)
        #expect(published["rule"] as? String == "open")

        let connected = try await world.json("bob", ["connect", "carol@example.org", "--message", "hello Carol"])
        #expect(connected["state"] as? String == "started")
        #expect(connected["delivered"] as? Bool == true)
        #expect(connected["oneTimePrekeyUsed"] as? Bool == true)
        let received = try await world.receive("carol")
        #expect(received.map(\.0) == ["Bob"])
        #expect(received.map(\.1) == ["hello Carol"])
        let carolsView = try await world.json("carol", ["show", "Bob"])
        #expect(carolsView["safetyNumber"] as? String == connected["safetyNumber"] as? String)
        #expect(try await world.run("bob", ["contacts"]).stdout.contains("verified carol@example.org"))

        // The one one-time prekey is gone: the next requester gets the signed prekey alone, and it still works.
        try await world.person("dana", register: false)
        let second = try await world.json("dana", ["connect", "carol", "--message", "hi"])
        #expect(second["oneTimePrekeyUsed"] as? Bool == false)
        #expect(try await world.receive("carol").map(\.0) == ["Dana"])

        // Carol answers Bob; they talk both ways after.
        #expect(try await world.run("carol", ["send", "Bob", "welcome"]).status == 0)
        #expect(try await world.receive("bob").map(\.1) == ["welcome"])
        #expect(try await world.run("bob", ["send", "Carol", "thanks"]).status == 0)
        #expect(try await world.receive("carol").map(\.1) == ["thanks"])

        // A second connection to the same name is refused before anything is fetched.
        let again = try await world.run("bob", ["connect", "carol@example.org"])
        #expect(again.status == 64)
        #expect(again.stderr.contains("already has a relationship"))
        #expect(try world.protonCount("bob") == 1)
        await world.stop()
    }

    @Test func attestedRuleRefusesUntilTheRequesterIsAttested() async throws {
        let world = try await World()
        try await world.person("carol", register: true)
        try await world.person("frank", register: false)
        _ = try await world.json("carol", ["directory", "publish", "--rule", "attested", "--prekeys", "2"])
        let refused = try await world.run("frank", ["connect", "carol@example.org"])
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(refused.stderr.contains("contact rules"))
        #expect(try world.protonCount("frank") == 0)
        #expect(try await world.run("frank", ["directory", "register", "frank"]).status == 0)
        #expect(try await world.run("frank", ["connect", "carol@example.org", "--no-attestation"]).status == 77)
        let connected = try await world.json("frank", ["connect", "carol@example.org", "--message", "attested hello"])
        #expect(connected["state"] as? String == "started")
        #expect(try await world.receive("carol").map(\.1) == ["attested hello"])
        await world.stop()
    }

    @Test func approvalRuleWaitsForTheOwnerAndTheRateLimitHolds() async throws {
        let world = try await World(limits: BrokerLimits(fetchesPerRequester: 3, window: 3_600))
        try await world.person("carol", register: true)
        try await world.person("gina", register: false)
        _ = try await world.json("carol", ["directory", "publish", "--rule", "approval"])
        let pending = try await world.json("gina", ["connect", "carol@example.org"], status: 75)
        #expect(pending["state"] as? String == "pending")
        let requestID = try #require(pending["requestID"] as? String)
        #expect(try world.protonCount("gina") == 0)
        // Asking again before the approval files nothing new.
        #expect(try await world.json("gina", ["connect", "carol@example.org"], status: 75)["requestID"] as? String == requestID)
        #expect(try await world.run("carol", ["requests", "approve", requestID]).status == 0)
        let connected = try await world.json("gina", ["connect", "carol@example.org", "--message", "approved hello"])
        #expect(connected["state"] as? String == "started")
        #expect(try await world.receive("carol").map(\.1) == ["approved hello"])

        // Three fetches in the window were Gina's whole allowance: a fourth request is limited.
        try await world.person("hank", register: true)
        _ = try await world.json("hank", ["directory", "publish"])
        let limited = try await world.run("gina", ["connect", "hank@example.org"])
        #expect(limited.status == 75)
        #expect(limited.stderr.contains("Too many"))
        #expect(try world.protonCount("gina") == 1)
        await world.stop()
    }

    @Test func connectRefusesNamesWithoutAPackageAndOwnNames() async throws {
        let world = try await World()
        try await world.person("carol", register: true)
        try await world.person("bob", register: true)
        let none = try await world.run("bob", ["connect", "carol@example.org"])
        #expect(none.status == 67, "\(none.stderr)")
        #expect(try await world.run("bob", ["connect", "nobody@example.org"]).status == 67)
        let own = try await world.run("bob", ["connect", "bob@example.org"])
        #expect(own.status == 64)
        #expect(try world.protonCount("bob") == 0)
        await world.stop()
    }
}
