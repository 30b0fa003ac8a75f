import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore
import Testing

/// The store's side of invites: single use, secrets erased on use, accepted once, spares.
@Suite("Pending invites in the store")
struct PendingInviteStoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonInviteStore-\(UUID().uuidString)")
    let random = SystemRandom()

    func ownRoute() throws -> OwnRoute {
        let route = try Route(serviceURI: "https://rs.example.org", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: random))
        return OwnRoute(route: route, authKey: Ed25519.PrivateKey(), issuedAt: Date())
    }

    @Test func anInviteIsUsedOnceAndItsSecretsAreErased() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try ProfileStore.create(at: root, persona: Persona(displayName: "Alex", random: random))
        defer { try? store.close() }
        let personaID = try store.personas()[0].id
        let prekey = X25519.PrivateKey()
        let route = try ownRoute()
        let invite = Invite(identity: try store.persona(personaID).identityKey, prekey: prekey.publicKey, route: route.route, expires: Date())
        let id = try store.addPendingInvite(personaID: personaID, invite: invite, prekey: prekey, route: route)

        let pending = try #require(try store.pendingInvites().first)
        #expect(pending.invite == invite)
        #expect(pending.route?.authKey.publicKey == route.authKey.publicKey)
        #expect(try store.transaction { try $0.invitePrekey(id) }.publicKey == prekey.publicKey)

        try store.transaction { try $0.consumeInvite(id, protonID: nil, now: Date()) }
        #expect(try store.pendingInvites().isEmpty)
        let used = try #require(try store.pendingInvites(includingUsed: true).first)
        #expect(used.used != nil && used.route == nil)
        #expect(throws: InviteError.self) { try store.transaction { try $0.invitePrekey(id) } }
        #expect(throws: InviteError.self) { try store.transaction { try $0.consumeInvite(id, protonID: nil, now: Date()) } }
    }

    @Test func anInviteWhosePrekeyOrPersonaDoesNotMatchIsNotStored() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try ProfileStore.create(at: root, persona: Persona(displayName: "Alex", random: random))
        defer { try? store.close() }
        let personaID = try store.personas()[0].id
        let route = try ownRoute()
        let invite = Invite(identity: try store.persona(personaID).identityKey, prekey: X25519.PrivateKey().publicKey, route: route.route, expires: Date())
        #expect(throws: InviteError.prekeyMismatch) {
            try store.addPendingInvite(personaID: personaID, invite: invite, prekey: X25519.PrivateKey(), route: route)
        }
        let prekey = X25519.PrivateKey()
        let foreign = Invite(identity: Ed25519.PrivateKey(), prekey: prekey.publicKey, route: route.route, expires: Date())
        #expect(throws: StoreError.personaMismatch(personaID)) {
            try store.addPendingInvite(personaID: personaID, invite: foreign, prekey: prekey, route: route)
        }
        #expect(try store.pendingInvites(includingUsed: true).isEmpty)
    }

    @Test func spareAddressesSurviveAReopenAndAreTakenOldestFirst() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try ownRoute()
        let second = try ownRoute()
        do {
            let store = try ProfileStore.create(at: root, persona: Persona(displayName: "Alex", random: random))
            try store.addSpareAddress(first)
            try store.addSpareAddress(second)
            try store.close()
        }
        let store = try ProfileStore.open(at: root)
        defer { try? store.close() }
        #expect(try store.spareAddressCounts() == ["https://rs.example.org": 2])
        let taken = try #require(try store.transaction { try $0.takeSpareAddress(now: Date()) })
        #expect(taken.route == first.route)
        #expect(taken.authKey.publicKey == first.authKey.publicKey)
        #expect(try store.spareAddressCounts() == ["https://rs.example.org": 1])
        // Taken inside a transaction that fails: the spare stays.
        struct Abort: Error {}
        #expect(throws: Abort.self) { try store.transaction { tx in _ = try tx.takeSpareAddress(now: Date()); throw Abort() } }
        #expect(try store.spareAddressCounts() == ["https://rs.example.org": 1])
    }
}
