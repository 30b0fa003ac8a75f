import Foundation
import ProtonAgents
import ProtonClient
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonStore
import Testing

/// Two profiles in this process, driven only through `ProtonClient`, over a real receiving and
/// a real sending service on loopback: invite, accept, send, receive, compare safety numbers,
/// block. No `proton` process is spawned.
@Suite(.serialized)
struct ProfileConversationTests {
    /// One receiving and one sending service, in-process, and two fresh profiles using both.
    final class World: @unchecked Sendable {
        let root: URL
        let receiving: RunningService
        let sending: RunningService
        let alice: Profile
        let bob: Profile
        /// One element each time a fetch starts waiting at the receiving service.
        let longPollWaits: AsyncStream<AddressID>

        init() async throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonClient-\(UUID().uuidString)")
            let (waits, waiting) = AsyncStream.makeStream(of: AddressID.self)
            longPollWaits = waits
            receiving = try await ReceivingService.start(
                configuration: ReceivingServiceConfiguration(
                    dataDirectory: root.appendingPathComponent("receiving"), onLongPollWaiting: { waiting.yield($0) }))
            sending = try await SendingService.start(
                configuration: SendingServiceConfiguration(
                    dataDirectory: root.appendingPathComponent("sending"),
                    forwarding: ForwardingPolicy(initialBackoff: 0.2, maximumBackoff: 1, requestTimeout: 5, allowsPrivateTargets: true),
                    sendRateLimit: .unlimited))
            alice = try Profile.create(at: root.appendingPathComponent("alice"), displayName: "Alice", passphrase: nil)
            bob = try Profile.create(at: root.appendingPathComponent("bob"), displayName: "Bob", passphrase: nil)
            for profile in [alice, bob] {
                try await profile.addService(.sending, uri: sending.baseURL)
                try await profile.addService(.receiving, uri: receiving.baseURL)
            }
        }

        func stop() async {
            alice.close()
            bob.close()
            await receiving.stop()
            await sending.stop()
            try? FileManager.default.removeItem(at: root)
        }

        /// Alice invites, Bob accepts with a first message, Alice receives it.
        func start(message: String = "hello Alice") async throws -> (aliceSide: Contact, bobSide: Contact) {
            let issued = try await alice.invite(as: try await alice.persona(matching: nil), expires: Date().addingTimeInterval(600), offline: false)
            let invite = try Profile.parseInvite(issued.invite.qrText)
            let started = try await bob.accept(invite, as: try await bob.persona(matching: nil), message: Array(message.utf8))
            #expect(started.delivered)
            let events = try await alice.receive(wait: 5)
            #expect(events.contains { if case .relationshipStarted = $0 { true } else { false } })
            #expect(Self.bodies(events) == [message])
            let aliceSide = try await alice.contact(alice.contact(matching: "Bob").id)
            let bobSide = try await bob.contact(started.protonID)
            return (aliceSide, bobSide)
        }

        /// `body`'s value, or a failure (not a hang) after `limit`.
        static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                defer { group.cancelAll() }
                guard let value = try await group.next() ?? nil else { throw TimedOut() }
                return value
            }
        }

        struct TimedOut: Error {}

        static func bodies(_ events: [ReceiveEvent]) -> [String] {
            events.compactMap { event in
                if case .received(_, _, let body, _, _) = event, !body.isEmpty { String(decoding: body, as: UTF8.self) } else { nil }
            }
        }
    }

    @Test func inviteAcceptSendReceiveVerifyBlock() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let (aliceSide, bobSide) = try await world.start()

        // Verify: both sides derive the same relationship id and safety number, and each
        // names the other.
        #expect(aliceSide.proton.relationshipID == bobSide.proton.relationshipID)
        #expect(aliceSide.proton.safetyNumber.description == bobSide.proton.safetyNumber.description)
        #expect(aliceSide.name == "Bob")

        let sent = try await world.alice.send(Array("hi Bob".utf8), to: aliceSide.id)
        #expect(sent.delivered)
        #expect(World.bodies(try await world.bob.receive(wait: 5)) == ["hi Bob"])
        #expect(try await world.bob.contact(bobSide.id).name == "Alice")

        // Block: every address Bob gave Alice is retired here and at the service, which
        // then refuses Alice's deliveries; nothing more reaches Bob.
        let block = try await world.bob.block(bobSide.id)
        #expect(!block.retired.isEmpty && !block.alreadyBlocked && block.failures.isEmpty)
        #expect(try await world.bob.block(bobSide.id).alreadyBlocked)
        let afterBlock = try await world.alice.send(Array("are you there?".utf8), to: aliceSide.id)
        #expect(!afterBlock.delivered)
        // The service itself refuses every retired address: a delivery straight to it is 410.
        for route in block.retired {
            await #expect(throws: RelayError.addressRetired(route.address)) {
                try await DirectRelay().deliver(Envelope(sealing: [1], to: route.route, random: SystemRandom()), to: route.route)
            }
        }
        await #expect(throws: ProfileError.relationship(.blocked)) {
            _ = try await world.bob.send(Array("x".utf8), to: bobSide.id)
        }
    }

    /// The event stream of a waiting receiver yields a message sent after it started waiting:
    /// the long-poll's wake-up, not a later round, brings it.
    @Test func theEventStreamDeliversWhileWaiting() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let (aliceSide, _) = try await world.start()
        let started = Date()
        let stream = world.bob.events(wait: 20)
        let received = Task { () -> String? in
            for try await event in stream {
                if case .received(.received(_, _, let body, _, _)) = event, !body.isEmpty { return String(decoding: body, as: UTF8.self) }
            }
            return nil
        }
        // Sent once Bob's round is waiting at the service for an address Alice writes to.
        let aliceWritesTo = Set(try await world.alice.contact(aliceSide.id).proton.sendingRoutes.map(\.address))
        try await World.within(.seconds(15)) {
            for await address in world.longPollWaits where aliceWritesTo.contains(address) { break }
        }
        _ = try await world.alice.send(Array("while you wait".utf8), to: aliceSide.id)
        #expect(try await World.within(.seconds(15)) { try await received.value } == "while you wait")
        // Well inside the 20 s the poll would otherwise wait out.
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test func refusalsAreTypedAndChangeNothing() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let issued = try await world.alice.invite(
            as: try await world.alice.persona(matching: nil), expires: Date().addingTimeInterval(600), offline: false)

        // Our own invite.
        await #expect(throws: ProfileError.invite(.ownInvite)) {
            _ = try await world.alice.accept(issued.invite, as: try await world.alice.persona(matching: nil))
        }
        // Text that is not an invite; one bit of the signature changed; one of the signed bytes changed.
        #expect { _ = try Profile.parseInvite("NOT AN INVITE") } throws: { error in
            if case ProfileError.notAnInvite(_, isReply: false) = error { true } else { false }
        }
        var bytes = issued.invite.encoded()
        bytes[bytes.count - 1] ^= 1
        #expect(throws: ProfileError.forgedInvite) { _ = try Profile.parseInvite(Base45.encode(bytes)) }
        bytes = issued.invite.encoded()
        bytes[bytes.count - 70] ^= 1
        #expect(throws: ProfileError.forgedInvite) { _ = try Profile.parseInvite(Base45.encode(bytes)) }

        // Accepted once; the second time is refused and stores nothing.
        let bobPersona = try await world.bob.persona(matching: nil)
        _ = try await world.bob.accept(issued.invite, as: bobPersona)
        let before = try await world.bob.contacts().count
        await #expect {
            _ = try await world.bob.accept(issued.invite, as: bobPersona)
        } throws: { error in
            if case ProfileError.invite(.alreadyAccepted) = error { true } else { false }
        }
        #expect(try await world.bob.contacts().count == before)
        // An expiry past the limit is refused before any address is made.
        let spares = try world.alice.store.spareAddressCounts().values.reduce(0, +)
        await #expect(throws: ProfileError.invalidExpiry(maximumSeconds: 7 * 86_400)) {
            _ = try await world.alice.invite(
                as: try await world.alice.persona(matching: nil), expires: Date().addingTimeInterval(30 * 86_400), offline: true)
        }
        #expect(try world.alice.store.spareAddressCounts().values.reduce(0, +) == spares)

        await #expect(throws: ProfileError.noSuchContact("nobody")) { _ = try await world.bob.contact(matching: "nobody") }
        await #expect(throws: ProfileError.noSuchPersona("nobody")) { _ = try await world.bob.persona(matching: "nobody") }
        await #expect(throws: ProfileError.agent(.duplicateService(world.sending.baseURL))) {
            try await world.bob.addService(.sending, uri: world.sending.baseURL)
        }
        // An expired invite.
        let shortLived = try await world.alice.invite(
            as: try await world.alice.persona(matching: nil), expires: Date().addingTimeInterval(1), offline: false)
        try await Task.sleep(for: .milliseconds(1_100))
        await #expect {
            _ = try await world.bob.accept(shortLived.invite, as: bobPersona)
        } throws: { error in
            if case ProfileError.invite(.expired) = error { true } else { false }
        }
    }

    /// A closed profile refuses every step, and its event stream ends instead of retrying.
    @Test func aClosedProfileRefusesAndItsStreamEnds() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let stream = world.bob.events(wait: 20)
        world.bob.close()
        await #expect(throws: ProfileError.closed) { _ = try await world.bob.personas() }
        await #expect(throws: ProfileError.closed) { _ = try await world.bob.receive() }
        let ended = try await World.within(.seconds(30)) { () -> Bool in
            do {
                for try await _ in stream {}
                return false
            } catch {
                return (error as? ProfileError) == .closed
            }
        }
        #expect(ended)
    }

    /// The offline path: a spare address, an invite with no network, a reply QR, read back.
    @Test func offlineInviteAndReply() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        #expect(await world.alice.replenishSpareAddresses() == nil)
        #expect(await world.bob.replenishSpareAddresses() == nil)
        let issued = try await world.alice.invite(
            as: try await world.alice.persona(matching: nil), expires: Date().addingTimeInterval(600), offline: true)
        let reply = try await world.bob.acceptOffline(issued.invite, as: try await world.bob.persona(matching: nil), message: Array("hi".utf8))
        #expect(reply.code.version <= Profile.maximumReplyVersion)
        let parsed = try Profile.parseReply(Base45.encode(reply.reply.encoded()))
        let accepted = try await world.alice.acceptReply(parsed)
        #expect(accepted.body == Array("hi".utf8))
        #expect(accepted.proton.safetyNumber.description == reply.proton.safetyNumber.description)
        await #expect {
            _ = try await world.alice.acceptReply(parsed)
        } throws: { error in
            if case ProfileError.invite(.alreadyUsed) = error { true } else { false }
        }
    }
}
