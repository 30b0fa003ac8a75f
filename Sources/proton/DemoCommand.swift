import ArgumentParser
import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// `proton demo`: two profiles in a temporary directory pair through the in-process handshake
/// and talk through in-process receiving services, with address rotation as it happens.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole lifecycle between two throw-away profiles and print it as a transcript.",
        discussion: """
            Creates two profiles in a temporary directory, pairs them with an invite, exchanges \
            messages each way while their addresses rotate, restarts both from disk, and ends with \
            a block. Nothing outside the temporary directory is touched.
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

    func run() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-demo-\(UUID().uuidString.prefix(8))")
        defer { if !keep { try? FileManager.default.removeItem(at: directory) } }
        var demo = try Demo(directory: directory, policy: RotationPolicy(messagesPerAddress: rotateEvery, retirementGrace: 120))
        try demo.run(messagesEachWay: messages)
        if keep { print("\nProfiles kept in \(directory.path)") }
    }
}

/// An in-process receiving service: it holds its sealed-box key, opens sealed addresses, keeps
/// ciphertexts per address, and answers "gone" for retired addresses.
final class DemoReceivingService {
    let uri: String
    let key = SealedBox.PrivateKey()
    private var mailboxes: [AddressID: [[UInt8]]] = [:]
    private var retired: Set<AddressID> = []

    enum Delivery: Equatable { case accepted(AddressID), gone(AddressID), rejected(String) }

    init(uri: String) { self.uri = uri }

    func createAddress(now: Date) -> OwnRoute {
        let owned = OwnedAddress(random: SystemRandom())
        mailboxes[owned.id] = []
        let route = try! Route(serviceURI: uri, serviceKey: key.publicKey, address: owned.id)
        return OwnRoute(route: route, authKey: owned.authKey, issuedAt: now)
    }

    func deliver(_ envelope: Envelope) -> Delivery {
        guard let address = try? envelope.openAddress(with: key) else { return .rejected("sealed address does not open") }
        if retired.contains(address) { return .gone(address) }
        guard mailboxes[address] != nil else { return .rejected("no such address") }
        mailboxes[address]!.append(envelope.ciphertext)
        return .accepted(address)
    }

    func fetch(_ address: AddressID) -> [[UInt8]] {
        defer { mailboxes[address] = [] }
        return mailboxes[address] ?? []
    }

    func retire(_ address: AddressID) {
        retired.insert(address)
        mailboxes[address] = nil
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    var description: String { "The demo's message logs do not match: a message was lost or duplicated." }
}

struct Demo {
    struct Party {
        let name: String
        let directory: URL
        var store: ProfileStore
        let personaID: PersonaID
        let service: DemoReceivingService
        var protonID: ProtonID?
    }

    let policy: RotationPolicy
    var clock = Date()
    var alex: Party
    var blair: Party
    var rotations = 0
    var delivered = 0
    let random = SystemRandom()

    init(directory: URL, policy: RotationPolicy) throws {
        self.policy = policy
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func party(_ name: String) throws -> Party {
            let dir = directory.appendingPathComponent(name.lowercased())
            let store = try ProfileStore.create(at: dir, persona: Persona(displayName: name, random: SystemRandom()))
            let persona = try store.personas()[0]
            return Party(
                name: name, directory: dir, store: store, personaID: persona.id,
                service: DemoReceivingService(uri: "inproc://receiving.\(name.lowercased()).example"))
        }
        alex = try party("Alex")
        blair = try party("Blair")
        print("Proton demo: two profiles in \(directory.path)")
        for p in [alex, blair] {
            let persona = try p.store.personas()[0]
            print("  \(p.name.padding(toLength: 6, withPad: " ", startingAt: 0)) persona \(persona.identityKey), receiving service \(p.service.uri)")
        }
    }

    mutating func tick() -> Date {
        clock = clock.addingTimeInterval(60)
        return clock
    }

    mutating func run(messagesEachWay: Int) throws {
        try pair()
        print("\n== Talk: \(messagesEachWay) messages each way, a fresh address every \(policy.messagesPerAddress) messages ==")
        for round in 1...messagesEachWay {
            try send(from: \.alex, to: \.blair, text: "Alex's message \(round)")
            try send(from: \.blair, to: \.alex, text: "Blair's message \(round)")
        }
        try restart()
        try block()
        print("\n== Summary ==")
        let alexLog = try alex.store.messages(protonID: alex.protonID!)
        let blairLog = try blair.store.messages(protonID: blair.protonID!)
        let sentToAlex = blairLog.filter { $0.direction == .outgoing }.map(\.body)
        let sentToBlair = alexLog.filter { $0.direction == .outgoing }.map(\.body)
        let alexReceived = alexLog.filter { $0.direction == .incoming }.map(\.body)
        let blairReceived = blairLog.filter { $0.direction == .incoming }.map(\.body)
        // The last message Blair sent was after the block, and must not have arrived.
        let allArrived = alexReceived == Array(sentToAlex.dropLast()) && blairReceived == sentToBlair
        print("  \(delivered) messages delivered, \(rotations) address rotations.")
        print("  Message logs: Alex received \(alexReceived.count) of the \(sentToAlex.count - 1) Blair sent before the block, Blair received \(blairReceived.count) of \(sentToBlair.count); "
            + (allArrived ? "every message arrived once, in order." : "MESSAGES MISSING."))
        if !allArrived { throw DemoFailure() }
    }

    // MARK: - Pairing

    mutating func pair() throws {
        print("\n== Pair: Alex prints an invite, Blair accepts it ==")
        let now = tick()
        let alexPersona = try alex.store.persona(alex.personaID)
        let prekey = X25519.PrivateKey(using: random)
        let inviteRoute = alex.service.createAddress(now: now)
        let invite = Invite(identity: alexPersona.identityKey, prekey: prekey.publicKey, route: inviteRoute.route, expires: now.addingTimeInterval(600))
        let text = invite.qrText
        print("  Alex's invite (\(invite.encoded().count) bytes, \(text.count) Base45 characters for the QR code):")
        print("    \(text)")

        let pasted = try Invite(qrText: text)
        let blairPersona = try blair.store.persona(blair.personaID)
        let blairRoute = blair.service.createAddress(now: now)
        let (blairProton, initial) = try Proton.initiate(
            persona: blairPersona, invite: pasted, ourRoutes: [blairRoute], body: Array("Hello Alex, it's Blair.".utf8),
            policy: policy, now: now, random: random)
        blair.protonID = try blair.store.startRelationship(
            personaID: blair.personaID, proton: blairProton, body: Array("Hello Alex, it's Blair.".utf8), initialMessage: initial, now: now)
        try flushOutbox(of: \.blair)
        print("  Blair accepts; the initial message (\(initial.encoded().count) bytes) goes to the invite's address \(short(inviteRoute.address)).")

        let arrived = alex.service.fetch(inviteRoute.address)
        let parsed = try InitialMessage(decoding: arrived[0])
        let alexRoute = alex.service.createAddress(now: now)
        let (alexProton, first) = try Proton.respond(
            persona: alexPersona, initialMessage: parsed, signedPrekey: prekey, oneTimePrekey: nil, context: .invite,
            firstContactRoute: inviteRoute, ourRoutes: [alexRoute], policy: policy, now: now, random: random)
        alex.protonID = try alex.store.acceptRelationship(
            personaID: alex.personaID, proton: alexProton, body: first.body, address: inviteRoute.address, now: now)
        delivered += 1
        print("  Alex completes the relationship with \(alexProton.peerDisplayName ?? "?"): \"\(String(decoding: first.body, as: UTF8.self))\"")
        let numbers = (alexProton.safetyNumber, blairProton.safetyNumber)
        print("  Safety number on Alex's screen: \(numbers.0)")
        print("  Safety number on Blair's screen: \(numbers.1)  \(numbers.0 == numbers.1 ? "(they match)" : "(MISMATCH)")")
    }

    // MARK: - Messages

    mutating func send(from sender: WritableKeyPath<Demo, Party>, to receiver: WritableKeyPath<Demo, Party>, text: String) throws {
        let now = tick()
        let senderName = self[keyPath: sender].name
        let receiverName = self[keyPath: receiver].name
        let store = self[keyPath: sender].store
        let protonID = self[keyPath: sender].protonID!
        var proton = try store.proton(protonID)
        if proton.rotationDue(now: now) {
            let fresh = self[keyPath: sender].service.createAddress(now: now)
            try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
            rotations += 1
            print("      ⟳ \(senderName) offers \(receiverName) a fresh address \(short(fresh.address)) (rotation \(rotations))")
        }
        let outgoing = try proton.seal(Array(text.utf8), now: now, random: random)
        try store.recordOutgoing(protonID: protonID, updated: proton, body: Array(text.utf8), ciphertext: outgoing.ciphertext, routes: outgoing.routes, now: now)
        let route = outgoing.routes.first!
        let carried = proton.pendingUpdates.count
        print(
            "  \(senderName.padding(toLength: 5, withPad: " ", startingAt: 0)) → \(receiverName.padding(toLength: 5, withPad: " ", startingAt: 0)) "
                + "\"\(text)\" to \(short(route.address)), \(outgoing.ciphertext.count) bytes"
                + (carried > 0 ? ", carrying \(carried) update\(carried == 1 ? "" : "s")" : ""))
        try flushOutbox(of: sender)
        try receive(receiver, from: senderName)
    }

    /// Delivers everything in a party's outbox through the peer's receiving service, trying the
    /// routes in order, and removes what was accepted.
    mutating func flushOutbox(of party: WritableKeyPath<Demo, Party>) throws {
        let store = self[keyPath: party].store
        for item in try store.outbox() {
            var accepted = false
            for route in item.routes where !accepted {
                let service = route.serviceURI == alex.service.uri ? alex.service : blair.service
                switch service.deliver(try Envelope(sealing: item.ciphertext, to: route, random: random)) {
                case .accepted: accepted = true
                case .gone(let address): print("      ✗ \(short(address)) is gone: this contact has retired that address; trying the next route")
                case .rejected(let reason): print("      ✗ delivery refused: \(reason)")
                }
            }
            if accepted { try store.removeFromOutbox(item.id) }
        }
    }

    mutating func receive(_ party: WritableKeyPath<Demo, Party>, from senderName: String) throws {
        let now = clock
        let p = self[keyPath: party]
        let protonID = p.protonID!
        var proton = try p.store.proton(protonID)
        for own in proton.receivingAddresses(now: now) {
            for ciphertext in p.service.fetch(own.address) {
                let message = try proton.open(ciphertext, at: own.address, now: now, random: random)
                try p.store.recordIncoming(protonID: protonID, updated: proton, body: message.body, address: own.address, now: now)
                delivered += 1
                for update in message.appliedUpdates {
                    switch update.change {
                    case .addRoute(let route): print("      ↳ \(p.name) learns \(senderName)'s new address \(short(route.address))")
                    case .retireAddress(let address): print("      ↳ \(p.name) drops \(senderName)'s retired address \(short(address))")
                    case .displayName: break
                    }
                }
                for address in message.acknowledgedAddresses {
                    print("      ↳ \(senderName) has acknowledged \(p.name)'s address \(short(address))")
                }
                for address in message.retiringAddresses {
                    print("      ↳ \(p.name)'s old address \(short(address)) is retiring (accepted for \(Int(policy.retirementGrace)) s more)")
                }
            }
        }
        for route in proton.completeRetirements(now: now) {
            p.service.retire(route.address)
            print("      ✓ \(p.name) retires \(short(route.address)) at the receiving service")
        }
        try p.store.saveProton(protonID, proton, now: now)
    }

    // MARK: - Restart and block

    mutating func restart() throws {
        print("\n== Restart: both profiles are closed and reopened from disk ==")
        for keyPath in [\Demo.alex, \Demo.blair] {
            try self[keyPath: keyPath].store.close()
            self[keyPath: keyPath].store = try ProfileStore.open(at: self[keyPath: keyPath].directory)
        }
        try send(from: \.alex, to: \.blair, text: "Still here after the restart?")
        try send(from: \.blair, to: \.alex, text: "Yes, nothing lost.")
    }

    mutating func block() throws {
        print("\n== Block: Alex blocks Blair ==")
        let now = tick()
        var proton = try alex.store.proton(alex.protonID!)
        let retired = proton.block()
        for route in retired { alex.service.retire(route.address) }
        try alex.store.saveProton(alex.protonID!, proton, now: now)
        print("  Alex retires every address Blair could use: \(retired.map { short($0.address) }.joined(separator: ", "))")

        var blairProton = try blair.store.proton(blair.protonID!)
        let outgoing = try blairProton.seal(Array("Are you there?".utf8), now: now, random: random)
        try blair.store.recordOutgoing(protonID: blair.protonID!, updated: blairProton, body: Array("Are you there?".utf8), ciphertext: outgoing.ciphertext, routes: outgoing.routes, now: now)
        print("  Blair → Alex \"Are you there?\"")
        try flushOutbox(of: \.blair)
        let waiting = try blair.store.outbox().count
        print("  Blair's message stays undelivered (\(waiting) in Blair's outbox); no other relationship and no identity changed.")
    }

    func short(_ address: AddressID) -> String { String(address.hex.prefix(8)) + "…" }
}
