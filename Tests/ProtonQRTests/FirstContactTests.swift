import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonStore
import Testing

/// The inviter's receive agent completing (or refusing) relationships from its invites, with a
/// real profile store and an in-process receiving service.
@Suite("Receive agent: first contact through an invite")
struct FirstContactTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonFirstContact-\(UUID().uuidString)")
    let mailbox = InProcessMailbox(serviceURI: "https://rs.example.org")
    let random = SystemRandom()

    struct Inviter {
        let store: ProfileStore
        let agent: ReceiveAgent
        let invite: Invite
        let inviteID: InviteID
    }

    func inviter(expires: Date, created: Date = Date()) async throws -> Inviter {
        let store = try ProfileStore.create(at: root.appendingPathComponent("alex"), persona: Persona(displayName: "Alex", random: random))
        let personaID = try store.personas()[0].id
        let route = try await ownRoute()
        let prekey = X25519.PrivateKey()
        let invite = Invite(identity: try store.persona(personaID).identityKey, prekey: prekey.publicKey, route: route.route, expires: expires)
        let id = try store.addPendingInvite(personaID: personaID, invite: invite, prekey: prekey, route: route, now: created)
        try store.addSpareAddress(try await ownRoute())
        return Inviter(store: store, agent: try ReceiveAgent(store: store, services: [mailbox]), invite: invite, inviteID: id)
    }

    func ownRoute() async throws -> OwnRoute {
        let owned = OwnedAddress(random: random)
        try await mailbox.createAddress(owned)
        let route = try Route(serviceURI: mailbox.serviceURI, serviceKey: try await mailbox.serviceKey(), address: owned.id)
        return OwnRoute(route: route, authKey: owned.authKey, issuedAt: Date())
    }

    /// Someone accepts: their initial message goes to the invite's address.
    func accept(_ invite: Invite, as name: String, body: String, now: Date = Date()) async throws -> Proton {
        try await accept(invite, persona: try Persona(displayName: name, random: random), body: body, now: now)
    }

    func accept(_ invite: Invite, persona: Persona, body: String, now: Date = Date()) async throws -> Proton {
        let started = try Proton.initiate(
            persona: persona, invite: invite, ourRoutes: [try await ownRoute()], body: Array(body.utf8), now: now, random: random)
        try await deliver(started.initialMessage.encoded(), to: invite.route)
        return started.proton
    }

    func deliver(_ bytes: [UInt8], to route: Route) async throws {
        try await mailbox.deliver(Envelope(sealing: bytes, to: route, random: random))
    }

    @Test func anInitialMessageCompletesTheRelationshipAndUsesUpTheInvite() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let alex = try await inviter(expires: Date().addingTimeInterval(600))
        defer { try? alex.store.close() }
        var blair = try await accept(alex.invite, as: "Blair", body: "hello")
        let events = await alex.agent.poll(wait: 0, now: Date())
        let started = try #require(events.compactMap { if case .relationshipStarted(let id, let name, _, _) = $0 { (id, name) } else { nil } }.first)
        #expect(started.1 == "Blair")
        #expect(try alex.store.messages(protonID: started.0).map(\.body) == [Array("hello".utf8)])
        #expect(try alex.store.pendingInvites().isEmpty)
        #expect(try alex.store.pendingInvites(includingUsed: true).first?.used != nil)
        #expect(try alex.store.spareAddressCounts().isEmpty, "the spare address became the relationship's fresh address")

        // Both protons then talk: Blair to the invite's address, Alex back to Blair's route.
        let alexProton = try alex.store.proton(started.0)
        #expect(alexProton.safetyNumber == blair.safetyNumber)
        let toAlex = try blair.seal(Array("second".utf8), now: Date(), random: random)
        try await deliver(toAlex.ciphertext, to: toAlex.routes[0])
        let more = await alex.agent.poll(wait: 0, now: Date())
        #expect(more.contains { if case .received(_, _, let body, _, _) = $0 { body == Array("second".utf8) } else { false } })
    }

    @Test func aSecondInitialMessageToAUsedInviteIsRefusedAndStoresNothing() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let alex = try await inviter(expires: Date().addingTimeInterval(600))
        defer { try? alex.store.close() }
        _ = try await accept(alex.invite, as: "Blair", body: "first")
        _ = await alex.agent.poll(wait: 0, now: Date())
        _ = try await accept(alex.invite, as: "Mallory", body: "me too")
        let events = await alex.agent.poll(wait: 0, now: Date())
        #expect(events.contains { if case .inviteRefused(_, let reason) = $0 { reason.contains("already used") } else { false } })
        #expect(try alex.store.protons().count == 1)
        #expect(try alex.store.protons().first?.peerDisplayName == "Blair")
    }

    @Test func twoInitialMessagesInOneFetchStartOneRelationship() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let alex = try await inviter(expires: Date().addingTimeInterval(600))
        defer { try? alex.store.close() }
        _ = try await accept(alex.invite, as: "Blair", body: "first")
        _ = try await accept(alex.invite, as: "Mallory", body: "me too")
        let events = await alex.agent.poll(wait: 0, now: Date())
        #expect(events.contains { if case .inviteRefused(_, let reason) = $0 { reason.contains("already used") } else { false } })
        #expect(try alex.store.protons().map(\.peerDisplayName) == ["Blair"])
    }

    @Test func aSecondRelationshipBetweenTheSamePersonasIsRefusedOnceAndNotRetried() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let alex = try await inviter(expires: Date().addingTimeInterval(600))
        defer { try? alex.store.close() }
        let blair = try Persona(displayName: "Blair", random: random)
        _ = try await accept(alex.invite, persona: blair, body: "first")
        _ = await alex.agent.poll(wait: 0, now: Date())
        let personaID = try alex.store.personas()[0].id
        let prekey = X25519.PrivateKey()
        let route = try await ownRoute()
        let invite = Invite(
            identity: try alex.store.persona(personaID).identityKey, prekey: prekey.publicKey, route: route.route,
            expires: Date().addingTimeInterval(600))
        try alex.store.addPendingInvite(personaID: personaID, invite: invite, prekey: prekey, route: route)
        _ = try await accept(invite, persona: blair, body: "again")
        let events = await alex.agent.poll(wait: 0, now: Date())
        #expect(events.contains { if case .inviteRefused(_, let reason) = $0 { reason.contains("already has a relationship") } else { false } })
        #expect(!events.contains { if case .storeFailed = $0 { true } else { false } })
        #expect(try alex.store.protons().count == 1)
        #expect(try alex.store.pendingInvites().count == 1, "the second invite stays for someone else")
        let next = await alex.agent.poll(wait: 0, now: Date())
        #expect(!next.contains { if case .inviteRefused = $0 { true } else { false } }, "the refused message was dropped, not retried")
    }

    /// The service's `receivedAt` says the acceptance came in time, but by this computer's
    /// clock the invite expired more than the late window ago: refused. The service (or its
    /// clock) cannot stretch an invite past that.
    @Test func anAcceptanceProcessedLongAfterTheExpiryIsRefused() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let expiry = Date().addingTimeInterval(600)
        let alex = try await inviter(expires: expiry)
        defer { try? alex.store.close() }
        _ = try await accept(alex.invite, as: "Blair", body: "in time, says the service")
        // Before, any `proton receive` however late started the relationship.
        let events = await alex.agent.poll(wait: 0, now: expiry.addingTimeInterval(3 * 86_400))
        #expect(!events.contains { if case .relationshipStarted = $0 { true } else { false } }, "\(events)")
        #expect(try alex.store.protons().isEmpty)
        #expect(try alex.store.pendingInvites().isEmpty, "the invite is gone for good")
    }

    /// An invite made while this computer's clock was two days ahead is not valid until the
    /// clock reaches its creation time (a not-valid-before), so it cannot live two days longer
    /// than its lifetime.
    @Test func anInviteMadeWithAClockAheadIsNotValidBeforeItsCreation() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let made = Date().addingTimeInterval(2 * 86_400)
        let alex = try await inviter(expires: made.addingTimeInterval(86_400), created: made)
        defer { try? alex.store.close() }
        _ = try await accept(alex.invite, as: "Blair", body: "too early")
        let events = await alex.agent.poll(wait: 0, now: Date())
        #expect(events.contains { if case .inviteRefused(_, let reason) = $0 { reason.contains("before the invite was made") } else { false } }, "\(events)")
        #expect(try alex.store.protons().isEmpty)
        #expect(try alex.store.pendingInvites().count == 1)
    }

    @Test func anInitialMessageThatArrivedAfterTheExpiryIsRefusedAndTheInviteStays() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let expiry = Date().addingTimeInterval(-60)
        let alex = try await inviter(expires: expiry)
        defer { try? alex.store.close() }
        // Blair's clock was wrong (or the message is a replay): the service received it after the expiry.
        _ = try await accept(alex.invite, as: "Blair", body: "late", now: expiry.addingTimeInterval(-30))
        let events = await alex.agent.poll(wait: 0, now: Date())
        #expect(events.contains { if case .inviteRefused(_, let reason) = $0 { reason.contains("expired") } else { false } })
        #expect(try alex.store.protons().isEmpty)
        #expect(try alex.store.pendingInvites().count == 1)
        #expect(try alex.store.spareAddressCounts().values.reduce(0, +) == 1, "a refusal keeps the spare address")
    }

    @Test(arguments: ["garbage", "tampered", "otherPrekey"])
    func anInitialMessageThatDoesNotBelongIsRefusedAndTheInviteStays(kind: String) async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let alex = try await inviter(expires: Date().addingTimeInterval(600))
        defer { try? alex.store.close() }
        let persona = try Persona(displayName: "Mallory", random: random)
        var bundleInvite = alex.invite
        if kind == "otherPrekey" {
            bundleInvite = Invite(identity: Ed25519.PrivateKey(), prekey: X25519.PrivateKey().publicKey, route: alex.invite.route, expires: alex.invite.expires)
        }
        let started = try Proton.initiate(persona: persona, invite: bundleInvite, ourRoutes: [try await ownRoute()], body: [1], now: Date(), random: random)
        var bytes = started.initialMessage.encoded()
        switch kind {
        case "garbage": bytes = random.bytes(300)
        case "tampered": bytes[bytes.count - 20] ^= 0x01
        default: break
        }
        try await deliver(bytes, to: alex.invite.route)
        let events = await alex.agent.poll(wait: 0, now: Date())
        #expect(events.contains { if case .inviteRefused = $0 { true } else { false } })
        #expect(try alex.store.protons().isEmpty)
        #expect(try alex.store.pendingInvites().count == 1)

        // The invite still works for the person it was meant for.
        _ = try await accept(alex.invite, as: "Blair", body: "hello")
        let later = await alex.agent.poll(wait: 0, now: Date())
        #expect(later.contains { if case .relationshipStarted = $0 { true } else { false } })
    }
}
