import ArgumentParser
import Foundation

/// The lifecycle `proton demo` tells, one step at a time, through the real CLI: every command
/// is a child process of this executable, and every outcome is checked from what it printed
/// (its `--json` where it has one) before the story goes on.
final class DemoStory {
    let shell: DemoShell
    let transcript: DemoTranscript
    let messagesEachWay: Int
    let namespace = "example.org"

    private var stepNumber = 0
    private var stepTitle = ""

    private var receiving: DemoShell.Service!
    private var sending: DemoShell.Service!
    /// Bob's first choice of sending service, stopped midway to show the send agent failing over.
    private var bobsSending: DemoShell.Service!
    private var directory: DemoShell.Service!
    private var aliceKey = ""

    /// Every message each side sent and read, in order, for the final tally.
    private var sentBy: [String: [String]] = ["alice": [], "bob": []]
    private var readBy: [String: [String]] = ["alice": [], "bob": []]
    /// Messages Alice and Bob read from each other, counted when their conversation (step 5) ends.
    private var conversation = (toAlice: 0, toBob: 0)
    /// The addresses each side was reached at, in order of first use.
    private var reachedAt: [String: [String]] = ["alice": [], "bob": []]

    init(shell: DemoShell, transcript: DemoTranscript, messagesEachWay: Int) {
        self.shell = shell
        self.transcript = transcript
        self.messagesEachWay = messagesEachWay
    }

    func run() async throws {
        transcript.emit("Proton demo: the whole lifecycle through the real 'proton' commands, on this machine only.")
        transcript.emit("$DEMO is \(shell.root.path): the services' SQLite databases, the profiles, and each command's output (logs/).")
        try await startServices()
        try await createProfiles()
        try await register()
        try await invite()
        try await talk()
        try await verify()
        try await connect()
        try await block()
        summarise()
    }

    // MARK: - 1. Services

    private func startServices() async throws {
        begin("Services and the directory start on loopback")
        receiving = try await service("receiving", name: "receiving")
        // Every service here is on loopback, which a sending service refuses unless told.
        sending = try await service("sending", name: "sending", extra: ["--allow-private-targets"])
        bobsSending = try await service("sending", name: "sending-bob", extra: ["--allow-private-targets"])
        directory = try await service("directory", name: "directory", extra: ["--namespace", namespace, "--brokered"])
        guard let key = directory.verifierKey, key.hasPrefix(namespace + "/") else {
            throw failure("the directory printed no verifier key for \(namespace)")
        }
        transcript.outcome("its verifier key, which clients pin: \(key)")
    }

    private func service(_ kind: String, name: String, extra: [String] = []) async throws -> DemoShell.Service {
        let started: DemoShell.Service
        do { started = try await shell.startService(kind, name: name, extra: extra) } catch { throw failure("\(error)") }
        transcript.command(started.arguments)
        guard started.url.hasPrefix("http://127.0.0.1:") else { throw failure("'proton serve \(kind)' listens on \(started.url), not loopback") }
        transcript.outcome("listening on \(started.url)")
        return started
    }

    // MARK: - 2. Profiles

    private func createProfiles() async throws {
        begin("Alice and Bob create their profiles, add the services and pin the directory")
        for (who, name) in [("alice", "Alice"), ("bob", "Bob")] {
            let created = try await proton(who, ["init"], ["--name", name, "--json"])
            let report = try decode(InitReport.self, created)
            guard report.persona.displayName == name else { throw failure("\(who)'s persona is named \(report.persona.displayName)") }
            if who == "alice" { aliceKey = report.persona.identityKey }
            transcript.outcome("\(name)'s persona, identity key \(report.persona.fingerprint)")
            // Bob prefers a sending service of his own; it stops during the conversation.
            let sendingServices = who == "bob" ? [bobsSending.url, sending.url] : [sending.url]
            for url in sendingServices { try await said(proton(who, ["services", "add"], ["sending", url])) }
            try await said(proton(who, ["services", "add"], ["receiving", receiving.url]))
            try await said(proton(who, ["directory", "add"], [directory.url, "--key", directory.verifierKey ?? ""]))
        }
    }

    // MARK: - 3. Registration

    private func register() async throws {
        begin("Alice registers alice@\(namespace) and is attested")
        let result = try await proton("alice", ["directory", "register"], ["alice", "--json"])
        let status = try decode(RegisterReport.self, result)
        guard status.state == "attested", status.name == "alice", status.namespace == namespace else {
            throw failure("the directory answered \(status.state) for \(status.name)@\(status.namespace), not attested")
        }
        guard status.identityKey == aliceKey else { throw failure("the directory attested another key than Alice's") }
        transcript.outcome(
            "alice@\(namespace) is attested for Alice's key at log index \(status.logIndex.map(String.init) ?? "?"); the client checked its inclusion in the signed log")
    }

    // MARK: - 4. Invite

    private func invite() async throws {
        begin("Alice prints a QR invite; Bob accepts it from the printed text")
        // --qr draws the code although standard output is a file here, as a terminal would show it.
        let printed = try await proton("alice", ["invite"], ["--qr"])
        let lines = printed.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let text = lines.last(where: { !$0.isEmpty }), let scan = lines.firstIndex(where: { $0.hasPrefix("Scan it with") }),
            lines.first(where: { $0.hasPrefix("Invite from Alice") }) != nil
        else { throw failure("'proton invite --qr' did not print a QR code, its description and the invite's text") }
        for line in lines.prefix(while: { !$0.hasPrefix("Invite from") }) where !line.isEmpty { transcript.emit("        " + line) }
        for line in lines[..<scan].drop(while: { !$0.hasPrefix("Invite from") }) { transcript.outcome(line) }
        transcript.outcome("the text under the code, which Bob pastes: \(String(text.prefix(48)))… (\(text.count) characters)")

        let hello = "Hi Alice, it's Bob."
        let accepted = try decode(AcceptReport.self, try await proton("bob", ["accept"], [text, "--message", hello, "--json"]))
        guard accepted.delivered == true else { throw failure("Bob's acceptance was not delivered") }
        transcript.outcome("relationship \(accepted.relationshipID); Bob's safety number \(accepted.safetyNumber)")
        sentBy["bob", default: []].append(hello)

        try await read("alice", expecting: hello, from: "Bob")
        let show = try decode(ShowReport.self, try await proton("alice", ["show"], ["Bob", "--json"]))
        guard show.safetyNumber == accepted.safetyNumber, show.relationshipID == accepted.relationshipID else {
            throw failure("the safety numbers differ: Alice sees \(show.safetyNumber), Bob \(accepted.safetyNumber)")
        }
        transcript.outcome("Alice's screen shows the same safety number and relationship: they match")
    }

    // MARK: - 5. Conversation

    private func talk() async throws {
        begin("They talk through the agents: \(messagesEachWay) messages each way, with address rotation")
        let rotationRound = 2
        let failoverRound = messagesEachWay
        var freshAddress: String?
        var replacedAddresses: [String] = []
        for round in 1...messagesEachWay {
            let fromAlice = "Alice's message \(round)"
            let delivered = try await send("alice", to: "Bob", fromAlice)
            if let freshAddress, round > rotationRound {
                guard delivered.hasPrefix(String(freshAddress.prefix(8))) else {
                    throw failure("Alice's message \(round) went to \(delivered), not to Bob's fresh address \(freshAddress.prefix(8))…")
                }
            }
            let address = try await read("bob", expecting: fromAlice, from: "Alice")
            if let freshAddress, round > rotationRound, address != freshAddress {
                throw failure("Bob read Alice's message \(round) at \(address.prefix(8))…, not at his fresh address")
            }

            if round == rotationRound {
                let before = try decode(ShowReport.self, try await proton("bob", ["show"], ["Alice", "--json"]))
                try await said(proton("bob", ["rotate"], ["Alice"]))
                let after = try decode(ShowReport.self, try await proton("bob", ["show"], ["Alice", "--json"]))
                let offered = after.ourRoutes.filter { $0.state == "offered" && !before.ourRoutes.map(\.address).contains($0.address) }
                guard let route = offered.first else { throw failure("'proton rotate' left no newly offered address") }
                freshAddress = route.address
                replacedAddresses = before.ourRoutes.filter { $0.state == "active" }.map(\.address)
                transcript.outcome("the addresses Bob gave Alice: \(after.ourRoutes.map { "\($0.address.prefix(8))… \($0.state ?? "?")" }.joined(separator: ", "))")
            }
            if round == failoverRound {
                transcript.note("Bob's preferred sending service \(bobsSending.url) stops: SIGTERM to its process")
                shell.stop(pid: bobsSending.pid)
            }
            let fromBob = "Bob's message \(round)"
            let via = try await send("bob", to: "Alice", fromBob)
            if round == failoverRound {
                guard via.hasSuffix("via \(sending.url)") else { throw failure("Bob's message after the stop went \(via), not through his second sending service") }
                transcript.outcome("Bob's send agent failed over to his second sending service, \(sending.url)")
            }
            try await read("alice", expecting: fromBob, from: "Bob")
        }
        guard let freshAddress, reachedAt["bob"]?.contains(freshAddress) == true else {
            throw failure("Bob was never reached at the address he rotated to")
        }
        // Alice has used the fresh address, so the one it replaced now only waits out its grace period.
        let rotated = try decode(ShowReport.self, try await proton("bob", ["show"], ["Alice", "--json"]))
        let states = Dictionary(rotated.ourRoutes.map { ($0.address, $0.state ?? "?") }, uniquingKeysWith: { a, _ in a })
        guard states[freshAddress] == "active", !replacedAddresses.isEmpty,
            replacedAddresses.allSatisfy({ states[$0] == "retiring" || states[$0] == "retired" })
        else { throw failure("after the rotation Bob's addresses for Alice are \(states), not the fresh one active and the old one retiring") }
        transcript.outcome(
            "Bob's fresh address \(freshAddress.prefix(8))… is active; the one it replaced, \(replacedAddresses.map { "\($0.prefix(8))…" }.joined(separator: ", ")), "
                + "is retiring (accepted for \(Output.duration(TimeInterval(rotated.rotation.policy.retirementGraceSeconds))) more, then retired)")

        // Nothing may arrive twice: both inboxes are empty now, and each read every message once, in order.
        for (who, peer) in [("alice", "bob"), ("bob", "alice")] {
            let left = try decode([Received].self, try await proton(who, ["receive"], ["--json"]))
            guard left.isEmpty else { throw failure("\(who) received \(left.count) more message(s), a duplicate: \(left.map(\.body))") }
            guard readBy[who] == sentBy[peer] else {
                throw failure("\(who) read \(readBy[who] ?? []) but \(peer) sent \(sentBy[peer] ?? [])")
            }
        }
        transcript.outcome("nothing more waiting for either: every message arrived exactly once, in order")
        conversation = (readBy["alice"]?.count ?? 0, readBy["bob"]?.count ?? 0)
        for (who, name) in [("alice", "Alice"), ("bob", "Bob")] {
            let addresses = reachedAt[who] ?? []
            transcript.outcome("\(name) was reached at \(addresses.count) addresses over time: \(addresses.map { "\($0.prefix(8))…" }.joined(separator: ", "))")
        }
    }

    /// `proton send`, which must deliver; returns "ADDRESS… via URL".
    private func send(_ who: String, to contact: String, _ body: String) async throws -> String {
        let result = try await proton(who, ["send"], [contact, body, "--json"])
        let report = try decode(SendReport.self, result)
        guard report.delivered, let event = report.events.last(where: { $0.hasPrefix("delivered to ") }) else {
            throw failure("\(who)'s message \"\(body)\" was not delivered: \(report.events.joined(separator: "; "))")
        }
        sentBy[who, default: []].append(body)
        let place = String(event.dropFirst("delivered to ".count))
        transcript.outcome("delivered to \(place)\(report.rotated ? ", offering a fresh address" : "")")
        return place
    }

    /// `proton receive` until the one message expected arrives (the sending service forwards it
    /// asynchronously); anything else that arrives fails the step. Returns the address it came to.
    @discardableResult
    private func read(_ who: String, expecting body: String, from contact: String) async throws -> String {
        for _ in 1...3 {
            let arrived = try decode([Received].self, try await proton(who, ["receive"], ["--wait", "5", "--json"]))
            guard !arrived.isEmpty else { continue }
            guard arrived.count == 1, let message = arrived.first, message.body == body, message.contact == contact else {
                throw failure("\(who) expected \"\(body)\" from \(contact) and received \(arrived.map { "\"\($0.body)\" from \($0.contact)" })")
            }
            readBy[who, default: []].append(message.body)
            if reachedAt[who]?.contains(message.address) != true { reachedAt[who, default: []].append(message.address) }
            transcript.outcome("\(contact): \"\(message.body)\" (at \(message.address.prefix(8))…)")
            return message.address
        }
        throw failure("\"\(body)\" never reached \(who)")
    }

    // MARK: - 6. Verification

    private func verify() async throws {
        begin("Bob verifies Alice's name")
        let result = try await proton("bob", ["verify"], ["Alice", "--name", "alice@\(namespace)", "--json"])
        let report = try decode(VerifyReport.self, result)
        guard report.verified, report.failures.isEmpty, report.identityKey == aliceKey,
            let name = report.names.first(where: { $0.name == "alice@\(namespace)" })
        else { throw failure("Alice's name did not verify: \(report.failures.joined(separator: "; "))") }
        transcript.outcome(
            "Alice is alice@\(namespace): the attestation of her key verifies (log index \(name.logIndex), in a signed tree of \(name.treeSize))")
        let contacts = try decode([ContactsEntry].self, try await proton("bob", ["contacts"], ["--json"]))
        guard contacts.first(where: { $0.name == "Alice" })?.verifiedName == "alice@\(namespace)" else {
            throw failure("Bob's contact list does not show Alice as verified")
        }
        transcript.outcome("Bob's contact list shows Alice as \"verified alice@\(namespace)\"")
    }

    // MARK: - 7. Brokered directory

    private func connect() async throws {
        begin("Bob connects to carol@\(namespace) through the brokered directory")
        let created = try decode(InitReport.self, try await proton("carol", ["init"], ["--name", "Carol", "--json"]))
        transcript.outcome("Carol's persona, identity key \(created.persona.fingerprint)")
        try await said(proton("carol", ["services", "add"], ["sending", sending.url]))
        try await said(proton("carol", ["services", "add"], ["receiving", receiving.url]))
        try await said(proton("carol", ["directory", "add"], [directory.url, "--key", directory.verifierKey ?? ""]))
        let registered = try decode(RegisterReport.self, try await proton("carol", ["directory", "register"], ["carol", "--json"]))
        guard registered.state == "attested", registered.identityKey == created.persona.identityKey else {
            throw failure("carol@\(namespace) was not attested for Carol's key")
        }
        transcript.outcome("carol@\(namespace) is attested for Carol's key at log index \(registered.logIndex.map(String.init) ?? "?")")
        let published = try decode(
            PublishReport.self, try await proton("carol", ["directory", "publish"], ["--prekeys", "5", "--rule", "open", "--json"]))
        guard published.name == "carol@\(namespace)", published.oneTimePrekeys == 5 else {
            throw failure("Carol's key package was published as \(published.name) with \(published.oneTimePrekeys) one-time prekeys")
        }
        transcript.outcome(
            "a key package with \(published.oneTimePrekeys) one-time prekeys, contact rule \(published.rule), first-contact address \(published.address.prefix(8))…")

        let hello = "Hi Carol, it's Bob; the directory vouched for your key."
        let connected = try decode(
            ConnectReport.self, try await proton("bob", ["connect"], ["carol@\(namespace)", "--message", hello, "--json"]))
        guard connected.state == "started", connected.delivered == true, connected.oneTimePrekeyUsed == true,
            let relationshipID = connected.relationshipID, let safetyNumber = connected.safetyNumber
        else { throw failure("Bob's connection to carol@\(namespace) did not start and deliver its first message") }
        transcript.outcome("relationship \(relationshipID) from Carol's key package and one of its one-time prekeys; Bob's safety number \(safetyNumber)")
        sentBy["bob", default: []].append(hello)

        let firstAddress = try await read("carol", expecting: hello, from: "Bob")
        guard firstAddress == published.address else { throw failure("Bob's first message reached \(firstAddress), not the key package's address") }
        let show = try decode(ShowReport.self, try await proton("carol", ["show"], ["Bob", "--json"]))
        guard show.safetyNumber == safetyNumber, show.relationshipID == relationshipID else {
            throw failure("the safety numbers differ: Carol sees \(show.safetyNumber), Bob \(safetyNumber)")
        }
        transcript.outcome("Carol's receive agent completed the relationship: the same safety number on her screen")

        // Carol's reply carries her own address for Bob; his next message goes there, not to the shared one.
        let reply = "Welcome, Bob."
        _ = try await send("carol", to: "Bob", reply)
        try await read("bob", expecting: reply, from: "Carol")
        let again = "Glad it worked."
        _ = try await send("bob", to: "Carol", again)
        let secondAddress = try await read("carol", expecting: again, from: "Bob")
        guard secondAddress != published.address else {
            throw failure("Bob still writes to Carol's shared key-package address after her reply")
        }
        transcript.outcome("Bob now writes to an address Carol made for him alone, not to the key package's shared one")
        let contacts = try decode([ContactsEntry].self, try await proton("bob", ["contacts"], ["--json"]))
        guard contacts.first(where: { $0.name == "Carol" })?.verifiedName == "carol@\(namespace)" else {
            throw failure("Bob's contact list does not show Carol as verified")
        }
        transcript.outcome("Bob's contact list shows Carol as \"verified carol@\(namespace)\"")
    }

    // MARK: - 8. Block

    private func block() async throws {
        begin("Alice blocks Bob")
        try await said(proton("alice", ["block"], ["Bob"]))
        let attempt = try await proton("bob", ["send"], ["Alice", "Are you there?", "--json"], expect: 75)
        let report = try decode(SendReport.self, attempt)
        let gone = report.events.filter { $0.hasPrefix("this contact has retired that address") }
        guard !report.delivered, !gone.isEmpty else {
            throw failure("Bob's message after the block was not refused with 410 Gone: \(report.events.joined(separator: "; "))")
        }
        for event in gone {
            let address = event.split(separator: "(").dropFirst().first.map { "(" + $0.prefix(while: { $0 != ")" }) + ")" } ?? ""
            transcript.outcome("410 Gone from the receiving service: this contact has retired that address \(address)")
        }
        transcript.outcome("not delivered (exit status 75): the message stays in Bob's outbox")
        let arrived = try decode([Received].self, try await proton("alice", ["receive"], ["--wait", "1", "--json"]))
        guard arrived.isEmpty else { throw failure("Alice received \(arrived.map(\.body)) after blocking Bob") }
        transcript.outcome("nothing reaches Alice")
        let contacts = try decode([ContactsEntry].self, try await proton("alice", ["contacts"], ["--json"]))
        guard contacts.first(where: { $0.name == "Bob" })?.blocked == true else { throw failure("Alice's contact list does not show Bob blocked") }
        transcript.outcome("Alice's contact list shows Bob as blocked")
    }

    private func summarise() {
        transcript.emit("\n== Outcome ==")
        let (toAlice, toBob) = conversation
        transcript.emit("  Every step's outcome was as expected: alice@\(namespace) attested and verified; the invite accepted with")
        transcript.emit("  matching safety numbers; \(toAlice) messages to Alice and \(toBob) to Bob, each read exactly once and in order,")
        transcript.emit("  across an address rotation and a sending-service failover; Bob connected to carol@\(namespace) through")
        transcript.emit("  the brokered directory's key package; the block answered with 410 Gone.")
    }

    // MARK: - Running commands

    private func begin(_ title: String) {
        stepNumber += 1
        stepTitle = title
        transcript.heading(stepNumber, title)
    }

    private func failure(_ problem: String) -> DemoFailure {
        DemoFailure(step: "\(stepNumber). \(stepTitle)", problem: problem.sentence)
    }

    /// Runs `proton COMMAND --profile $DEMO/WHO ARGUMENTS`, prints it, and requires `expect`.
    private func proton(_ who: String, _ command: [String], _ arguments: [String] = [], expect: Int32 = 0) async throws -> DemoShell.Result {
        let full = command + ["--profile", shell.root.appendingPathComponent(who).path] + arguments
        transcript.command(full)
        let result: DemoShell.Result
        do { result = try await shell.run(full) } catch { throw failure("'proton \(command.joined(separator: " "))' could not be started: \(error)") }
        transcript.output(result)
        guard result.status == expect else {
            let said = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw failure(
                "'proton \(command.joined(separator: " "))' exited with status \(result.status), not \(expect)\(said.isEmpty ? "" : ": \(said)")")
        }
        return result
    }

    /// Prints a command's own one-line answer as its outcome.
    private func said(_ result: DemoShell.Result) {
        transcript.outcome(result.summary)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ result: DemoShell.Result) throws -> T {
        do { return try result.decode(type) } catch {
            throw failure("'proton \(result.arguments.first ?? "")' printed JSON the demo cannot read: \(error)")
        }
    }
}

// MARK: - What the demo reads from the commands' --json

private struct InitReport: Decodable {
    struct Persona: Decodable {
        let displayName: String
        let fingerprint: String
        let identityKey: String
    }
    let persona: Persona
}

private struct RegisterReport: Decodable {
    let state: String
    let name: String
    let namespace: String
    let identityKey: String
    let logIndex: UInt64?
}

private struct PublishReport: Decodable {
    let name: String
    let oneTimePrekeys: Int
    let rule: String
    let address: String
}

private struct ConnectReport: Decodable {
    let state: String
    let relationshipID: String?
    let safetyNumber: String?
    let oneTimePrekeyUsed: Bool?
    let delivered: Bool?
}

private struct AcceptReport: Decodable {
    let relationshipID: String
    let safetyNumber: String
    let delivered: Bool?
}

private struct Received: Decodable {
    let contact: String
    let body: String
    let address: String
}

private struct SendReport: Decodable {
    let delivered: Bool
    let rotated: Bool
    let events: [String]
}

private struct ShowReport: Decodable {
    struct Route: Decodable {
        let address: String
        let state: String?
    }
    struct Rotation: Decodable {
        struct Policy: Decodable {
            let retirementGraceSeconds: Int
        }
        let policy: Policy
    }
    let relationshipID: String
    let safetyNumber: String
    let ourRoutes: [Route]
    let rotation: Rotation
}

private struct VerifyReport: Decodable {
    struct Name: Decodable {
        let name: String
        let logIndex: UInt64
        let treeSize: UInt64
    }
    let verified: Bool
    let identityKey: String
    let names: [Name]
    let failures: [String]
}

private struct ContactsEntry: Decodable {
    let name: String?
    let verifiedName: String?
    let blocked: Bool
}
