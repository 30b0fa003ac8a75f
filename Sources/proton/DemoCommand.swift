import ArgumentParser
import Foundation
import Logging
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonStore

/// `proton demo`: two throw-away profiles pair with an invite and talk through real sending and
/// receiving services on loopback, with address rotation as it happens.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole lifecycle between two throw-away profiles and print it as a transcript.",
        discussion: """
            Starts a receiving service for each person and a sending service on loopback (SQLite in \
            a temporary directory), creates two profiles there, pairs them with an invite, \
            exchanges messages each way through the send and receive agents while their addresses \
            rotate, restarts both profiles from disk, and ends with a block. Nothing outside the \
            temporary directory is touched. Exits non-zero if any message is lost or duplicated.
            """)

    @Option(help: "Messages each way.")
    var messages: Int = 20

    @Option(help: "Rotate to a fresh address after this many messages on one address.")
    var rotateEvery: Int = 6

    @Flag(help: "Keep the temporary directory instead of deleting it.")
    var keep = false

    func validate() throws {
        guard (1...500).contains(messages) else { throw ValidationError("--messages must be between 1 and 500.") }
        guard (1...100).contains(rotateEvery) else { throw ValidationError("--rotate-every must be between 1 and 100.") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-demo-\(UUID().uuidString.prefix(8))")
        let demo = try await Demo(
            directory: directory, policy: RotationPolicy(messagesPerAddress: rotateEvery, retirementGrace: 8))
        do {
            try await demo.run(messagesEachWay: messages)
            await demo.shutDown()
        } catch {
            await demo.shutDown()
            throw error
        }
        if keep {
            print("\nProfiles and service data kept in \(directory.path)")
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    var description: String { "The demo's message logs do not match: a message was lost or duplicated." }
}

/// One person in the demo: a profile and the agents that work for it.
struct DemoParty {
    let name: String
    let directory: URL
    var store: ProfileStore
    let personaID: PersonaID
    let receiving: RunningService
    var sender: SendAgent
    var receiver: ReceiveAgent
    var protonID: ProtonID?

    var mailbox: ReceivingServiceClient { ReceivingServiceClient(serviceURI: receiving.baseURL) }
}

/// Drives the demo. The clock advances one second per message from the real time, so the
/// services' signature freshness checks see a plausible time and grace periods end within the run.
final class Demo {
    let directory: URL
    let policy: RotationPolicy
    let sending: RunningService
    var alex: DemoParty
    var blair: DemoParty
    var clock = Date()
    var rotations = 0
    let random = SystemRandom()

    init(directory: URL, policy: RotationPolicy) async throws {
        self.directory = directory
        self.policy = policy
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var quiet = Logger(label: "proton.demo.services")
        quiet.logLevel = .warning
        let services = directory.appendingPathComponent("services")
        sending = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: services.appendingPathComponent("sending"),
                forwarding: ForwardingPolicy(initialBackoff: 0.2, maximumBackoff: 1, requestTimeout: 5), logger: quiet))
        let relay = SendingServiceRelay(serviceURI: sending.baseURL, forwardingWait: .seconds(5))
        alex = try await Self.party("Alex", directory: directory, services: services, relay: relay, logger: quiet)
        blair = try await Self.party("Blair", directory: directory, services: services, relay: relay, logger: quiet)
        print("Proton demo in \(directory.path)")
        print("  sending service".padding(toLength: 29, withPad: " ", startingAt: 0) + sending.baseURL)
        for p in [alex, blair] {
            let persona = try p.store.personas()[0]
            print("  \(p.name)'s receiving service".padding(toLength: 29, withPad: " ", startingAt: 0)
                + "\(p.receiving.baseURL)   \(p.name)'s persona \(persona.identityKey)")
        }
    }

    static func party(_ name: String, directory: URL, services: URL, relay: SendingServiceRelay, logger: Logger) async throws -> DemoParty {
        let receiving = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(
                dataDirectory: services.appendingPathComponent("receiving-\(name.lowercased())"), logger: logger))
        let profile = directory.appendingPathComponent(name.lowercased())
        let store = try ProfileStore.create(at: profile, persona: Persona(displayName: name, random: SystemRandom()))
        let mailbox = ReceivingServiceClient(serviceURI: receiving.baseURL)
        let endpoint = ReceivingEndpoint(mailbox: mailbox, publicKey: try await mailbox.serviceKey())
        return DemoParty(
            name: name, directory: profile, store: store, personaID: try store.personas()[0].id, receiving: receiving,
            sender: SendAgent(store: store, relays: [relay], receivingServices: [endpoint]),
            receiver: try ReceiveAgent(store: store, services: [mailbox], stateDirectory: profile))
    }

    func tick() -> Date {
        clock = clock.addingTimeInterval(1)
        return clock
    }

    func run(messagesEachWay: Int) async throws {
        try await pair()
        print("\n== Talk: \(messagesEachWay) messages each way through the agents, a fresh address every \(policy.messagesPerAddress) messages ==")
        for round in 1...messagesEachWay {
            try await send(from: \.alex, to: \.blair, text: "Alex's message \(round)")
            try await send(from: \.blair, to: \.alex, text: "Blair's message \(round)")
        }
        try await restart()
        try await block()
        try summarise()
    }

    func shutDown() async {
        try? alex.store.close()
        try? blair.store.close()
        for service in [alex.receiving, blair.receiving, sending] { await service.stop() }
    }

    // MARK: - Pairing

    func pair() async throws {
        print("\n== Pair: Alex prints an invite, Blair accepts it ==")
        let now = tick()
        let alexPersona = try alex.store.persona(alex.personaID)
        let prekey = X25519.PrivateKey(using: random)
        let alexIssuer = AddressIssuer(services: [ReceivingEndpoint(mailbox: alex.mailbox, publicKey: try await alex.mailbox.serviceKey())])
        let inviteRoute = try await alexIssuer.createRoute(after: nil, now: now)
        let invite = Invite(
            identity: alexPersona.identityKey, prekey: prekey.publicKey, route: inviteRoute.route, expires: now.addingTimeInterval(600))
        let text = invite.qrText
        print("  Alex's invite (\(invite.encoded().count) bytes, \(text.count) Base45 characters for the QR code):")
        print("    \(text)")

        let blairPersona = try blair.store.persona(blair.personaID)
        let blairIssuer = AddressIssuer(services: [ReceivingEndpoint(mailbox: blair.mailbox, publicKey: try await blair.mailbox.serviceKey())])
        let blairRoute = try await blairIssuer.createRoute(after: nil, now: now)
        let hello = Array("Hello Alex, it's Blair.".utf8)
        let (blairProton, initial) = try Proton.initiate(
            persona: blairPersona, invite: try Invite(qrText: text), ourRoutes: [blairRoute], body: hello, policy: policy,
            now: now, random: random)
        blair.protonID = try blair.store.startRelationship(
            personaID: blair.personaID, proton: blairProton, body: hello, initialMessage: initial, now: now)
        for event in await blair.sender.flush(now: now) { print("  Blair's agent: \(event)") }
        print("  Blair pasted the invite; the initial message (\(initial.encoded().count) bytes) went through the sending service.")

        let arrived = try await alex.mailbox.fetch(inviteRoute.ownedAddress, after: 0, wait: 5)
        guard let first = arrived.first else { throw DemoFailure() }
        let message = try InitialMessage(decoding: Base64URL.decode(first.ciphertext, limit: ServiceAPI.maximumCiphertextByteCount))
        let alexRoute = try await alexIssuer.createRoute(after: nil, now: now)
        let (alexProton, opened) = try Proton.respond(
            persona: alexPersona, initialMessage: message, signedPrekey: prekey, oneTimePrekey: nil, context: .invite,
            firstContactRoute: inviteRoute, ourRoutes: [alexRoute], policy: policy, now: now, random: random)
        alex.protonID = try alex.store.acceptRelationship(
            personaID: alex.personaID, proton: alexProton, body: opened.body, address: inviteRoute.address, now: now)
        try await alex.mailbox.acknowledge(inviteRoute.ownedAddress, upTo: first.id)
        print("  Alex's receive side completes the relationship with \(alexProton.peerDisplayName ?? "?"): \"\(String(decoding: opened.body, as: UTF8.self))\"")
        let numbers = (alexProton.safetyNumber, blairProton.safetyNumber)
        print("  Safety number on Alex's screen:  \(numbers.0)")
        print("  Safety number on Blair's screen: \(numbers.1)  \(numbers.0 == numbers.1 ? "(they match)" : "(MISMATCH)")")
    }

    // MARK: - Messages

    func send(from sender: ReferenceWritableKeyPath<Demo, DemoParty>, to receiver: ReferenceWritableKeyPath<Demo, DemoParty>, text: String) async throws {
        let now = tick()
        let from = self[keyPath: sender]
        let sent = try await from.sender.send(Array(text.utf8), to: from.protonID!, now: now)
        if let fresh = sent.rotatedTo {
            rotations += 1
            print("      ⟳ \(from.name) offers a fresh address \(short(fresh.address)) (rotation \(rotations))")
        }
        let delivered = sent.events.compactMap { event -> String? in
            if case .delivered(_, _, let address, _) = event { "to \(short(address))" } else { nil }
        }
        print("  \(from.name.padding(toLength: 5, withPad: " ", startingAt: 0)) → \(self[keyPath: receiver].name.padding(toLength: 5, withPad: " ", startingAt: 0)) \"\(text)\" \(delivered.first ?? "not delivered yet")")
        for event in sent.events where !event.isDelivery { print("      ! \(event)") }
        try await receive(receiver, from: from.name)
    }

    func receive(_ party: ReferenceWritableKeyPath<Demo, DemoParty>, from senderName: String) async throws {
        let p = self[keyPath: party]
        let before = try p.store.proton(p.protonID!)
        let events = await p.receiver.poll(wait: 2, now: clock)
        let after = try p.store.proton(p.protonID!)
        for event in events {
            switch event {
            case .received: break
            case .addressRetiredAtService(_, let address): print("      ✓ \(p.name) retires \(short(address)) at the receiving service")
            default: print("      ! \(p.name)'s agent: \(event)")
            }
        }
        let learned = after.peerRoutes.map(\.route.address).filter { !before.peerRoutes.map(\.route.address).contains($0) }
        let dropped = before.peerRoutes.map(\.route.address).filter { !after.peerRoutes.map(\.route.address).contains($0) }
        for address in learned { print("      ↳ \(p.name) learns \(senderName)'s new address \(short(address))") }
        for address in dropped { print("      ↳ \(p.name) drops \(senderName)'s retired address \(short(address))") }
        for route in after.ownRoutes {
            let old = before.ownRoutes.first { $0.address == route.address }?.state
            if case .offered = old, route.state == .active {
                print("      ↳ \(senderName) has acknowledged \(p.name)'s address \(short(route.address))")
            }
            if old == .active, case .retiring = route.state {
                print("      ↳ \(p.name)'s old address \(short(route.address)) is retiring (accepted for \(Int(policy.retirementGrace)) s more)")
            }
        }
    }

    // MARK: - Restart and block

    func restart() async throws {
        print("\n== Restart: both profiles are closed and reopened from disk, with new agents ==")
        for keyPath in [\Demo.alex, \Demo.blair] {
            let p = self[keyPath: keyPath]
            try p.store.close()
            let store = try ProfileStore.open(at: p.directory)
            let mailbox = p.mailbox
            let endpoint = ReceivingEndpoint(mailbox: mailbox, publicKey: try await mailbox.serviceKey())
            self[keyPath: keyPath].store = store
            self[keyPath: keyPath].sender = SendAgent(
                store: store, relays: [SendingServiceRelay(serviceURI: sending.baseURL, forwardingWait: .seconds(5))],
                receivingServices: [endpoint])
            self[keyPath: keyPath].receiver = try ReceiveAgent(store: store, services: [mailbox], stateDirectory: p.directory)
        }
        try await send(from: \.alex, to: \.blair, text: "Still here after the restart?")
        try await send(from: \.blair, to: \.alex, text: "Yes, nothing lost.")
    }

    func block() async throws {
        print("\n== Block: Alex blocks Blair ==")
        let now = tick()
        let retired: [OwnRoute] = try alex.store.transaction { tx in
            var proton = try tx.proton(alex.protonID!)
            let retired = proton.block()
            try tx.updateProton(alex.protonID!, to: proton, now: now)
            return retired
        }
        for route in retired { try await alex.mailbox.retire(route.ownedAddress) }
        print("  Alex retires every address Blair could use, at the receiving service too: \(retired.map { short($0.address) }.joined(separator: ", "))")
        let sent = try await blair.sender.send(Array("Are you there?".utf8), to: blair.protonID!, now: tick())
        print("  Blair → Alex \"Are you there?\"")
        for event in sent.events { print("      ! Blair's agent: \(event)") }
        let waiting = try blair.store.outbox().count
        print("  Blair's message is not delivered (\(waiting) in Blair's outbox); no other relationship and no identity changed.")
    }

    func summarise() throws {
        print("\n== Summary ==")
        let alexLog = try alex.store.messages(protonID: alex.protonID!)
        let blairLog = try blair.store.messages(protonID: blair.protonID!)
        let sentToAlex = blairLog.filter { $0.direction == .outgoing }.map(\.body)
        let sentToBlair = alexLog.filter { $0.direction == .outgoing }.map(\.body)
        let alexReceived = alexLog.filter { $0.direction == .incoming }.map(\.body)
        let blairReceived = blairLog.filter { $0.direction == .incoming }.map(\.body)
        // Blair's last message was sent after the block and must not have arrived.
        let allArrived = alexReceived == Array(sentToAlex.dropLast()) && blairReceived == sentToBlair
        print("  \(rotations) address rotations.")
        print(
            "  Message logs: Alex received \(alexReceived.count) of the \(sentToAlex.count - 1) Blair sent before the block, "
                + "Blair received \(blairReceived.count) of \(sentToBlair.count); "
                + (allArrived ? "every message arrived once, in order." : "MESSAGES MISSING."))
        if !allArrived { throw DemoFailure() }
    }

    func short(_ address: AddressID) -> String { String(address.hex.prefix(8)) + "…" }
}

extension DeliveryEvent {
    fileprivate var isDelivery: Bool { if case .delivered = self { true } else { false } }
}
