import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonStore
import Testing

/// A test clock that only moves when told to, so that rotation and retirement happen at
/// known steps.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)

    var now: Date { lock.withLock { current } }

    @discardableResult
    func advance(_ seconds: TimeInterval = 60) -> Date {
        lock.withLock {
            current = current.addingTimeInterval(seconds)
            return current
        }
    }
}

/// One side of the conversation: a profile on disk, its receiving services and its agents.
struct Party {
    let name: String
    let directory: URL
    let store: ProfileStore
    let personaID: PersonaID
    let services: [any Mailbox]
    var protonID: ProtonID!
    var sender: SendAgent
    var receiver: ReceiveAgent

    func proton() throws -> Proton { try store.proton(protonID) }

    /// The services, where they are in-process ones.
    var inProcess: [InProcessMailbox] { services.compactMap { $0 as? InProcessMailbox } }

    func log(_ direction: StoredMessage.Direction) throws -> [String] {
        try store.messages(protonID: protonID).filter { $0.direction == direction }.map { String(decoding: $0.body, as: UTF8.self) }
    }
}

/// Two profiles, Alex (two receiving services) and Blair (one), paired through an invite
/// delivered by the send agent, with two in-process relays between everything.
struct AgentFixture {
    let root: URL
    let clock = TestClock()
    let relays: [any Relay]
    /// How far the clock moves for each message sent.
    var step: TimeInterval = 60
    var alex: Party
    var blair: Party

    /// In-process: two receiving services for Alex, one for Blair, two relays.
    init(policy: RotationPolicy = RotationPolicy(messagesPerAddress: 1_000, retirementGrace: 150)) async throws {
        let alexServices = [
            InProcessMailbox(serviceURI: "inproc://alex-one.example"), InProcessMailbox(serviceURI: "inproc://alex-two.example"),
        ]
        let blairServices = [InProcessMailbox(serviceURI: "inproc://blair-one.example")]
        let relays = [
            InProcessRelay(name: "relay-1", mailboxes: alexServices + blairServices),
            InProcessRelay(name: "relay-2", mailboxes: alexServices + blairServices),
        ]
        try await self.init(alexServices: alexServices, blairServices: blairServices, relays: relays, policy: policy)
    }

    init(alexServices: [any Mailbox], blairServices: [any Mailbox], relays: [any Relay], policy: RotationPolicy) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonAgentsTests-\(UUID().uuidString)")
        self.relays = relays
        alex = try await Self.party("Alex", root: root, services: alexServices, relays: relays)
        blair = try await Self.party("Blair", root: root, services: blairServices, relays: relays)
        try await pair(policy: policy)
    }

    static func party(_ name: String, root: URL, services: [any Mailbox], relays: [any Relay]) async throws -> Party {
        let directory = root.appendingPathComponent(name.lowercased())
        let store = try ProfileStore.create(at: directory, persona: Persona(displayName: name, random: SystemRandom()))
        var endpoints: [ReceivingEndpoint] = []
        for service in services { endpoints.append(ReceivingEndpoint(mailbox: service, publicKey: try await service.serviceKey())) }
        return Party(
            name: name, directory: directory, store: store, personaID: try store.personas()[0].id, services: services,
            sender: SendAgent(store: store, relays: relays, receivingServices: endpoints),
            receiver: try ReceiveAgent(store: store, services: services, stateDirectory: directory))
    }

    /// Alex prints an invite; Blair's send agent delivers the initial message to its route;
    /// Alex completes the relationship from what the invite's address received.
    mutating func pair(policy: RotationPolicy) async throws {
        let now = clock.advance()
        let random = SystemRandom()
        let alexPersona = try alex.store.persona(alex.personaID)
        let prekey = X25519.PrivateKey(using: random)
        let issuer = AddressIssuer(services: try await endpoints(alex.services))
        let inviteRoute = try await issuer.createRoute(after: nil, now: now)
        let invite = Invite(identity: alexPersona.identityKey, prekey: prekey.publicKey, route: inviteRoute.route, expires: now.addingTimeInterval(600))

        let blairPersona = try blair.store.persona(blair.personaID)
        let blairRoute = try await AddressIssuer(services: try await endpoints(blair.services)).createRoute(after: nil, now: now)
        let hello = Array("Hello Alex, it's Blair.".utf8)
        let (blairProton, initial) = try Proton.initiate(
            persona: blairPersona, invite: try Invite(qrText: invite.qrText), ourRoutes: [blairRoute], body: hello, policy: policy,
            now: now, random: random)
        blair.protonID = try blair.store.startRelationship(
            personaID: blair.personaID, proton: blairProton, body: hello, initialMessage: initial, now: now)
        let events = await blair.sender.flush(now: now)
        #expect(events.count == 1)

        let service = alex.services[0]
        let arrived = try await service.fetch(inviteRoute.ownedAddress, after: 0, wait: 5)
        let message = try InitialMessage(decoding: Base64URL.decode(arrived[0].ciphertext, limit: 100_000))
        let alexRoute = try await issuer.createRoute(after: nil, now: now)
        let (alexProton, first) = try Proton.respond(
            persona: alexPersona, initialMessage: message, signedPrekey: prekey, oneTimePrekey: nil, context: .invite,
            firstContactRoute: inviteRoute, ourRoutes: [alexRoute], policy: policy, now: now, random: random)
        alex.protonID = try alex.store.acceptRelationship(
            personaID: alex.personaID, proton: alexProton, body: first.body, address: inviteRoute.address, now: now)
        try await service.acknowledge(inviteRoute.ownedAddress, upTo: arrived[0].id)
    }

    func endpoints(_ services: [any Mailbox]) async throws -> [ReceivingEndpoint] {
        var endpoints: [ReceivingEndpoint] = []
        for service in services { endpoints.append(ReceivingEndpoint(mailbox: service, publicKey: try await service.serviceKey())) }
        return endpoints
    }

    /// Sends one message through the sender's agent at the next tick.
    @discardableResult
    func send(_ text: String, from party: Party) async throws -> SendAgent.Sent {
        try await party.sender.send(Array(text.utf8), to: party.protonID, now: clock.advance(step))
    }

    /// One receive round without waiting.
    @discardableResult
    func receive(_ party: Party) async -> [ReceiveEvent] {
        await party.receiver.poll(wait: 0, now: clock.now)
    }

    func tearDown() {
        try? alex.store.close()
        try? blair.store.close()
        try? FileManager.default.removeItem(at: root)
    }
}

extension [ReceiveEvent] {
    var receivedBodies: [String] {
        compactMap { if case .received(_, _, let body, _, _) = $0 { String(decoding: body, as: UTF8.self) } else { nil } }
    }

    var duplicates: Int { filter { if case .duplicateDropped = $0 { true } else { false } }.count }
}
