import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// The invite paths become post-quantum at their first round trip (docs/qr.md, "Post-quantum
/// protection"): which message offers the ML-KEM key, which answers it, and that every
/// message from the answer on depends on its secret. `HybridRatchetTests` checks the claim
/// against a recorder who broke X25519, on ratchets started exactly as these.
struct HybridInviteTests {
    /// Online: Alice's first message offers; Bob's first reply answers, so its chain and every
    /// later one depend on the secret.
    @Test func anInviteAcceptedOnlineIsHybridFromTheInvitersFirstReply() throws {
        var r = try Relationship(seed: "hybrid invite online")
        #expect(r.firstMessage.ratchetMessage[1] == DoubleRatchet.hybridMessageVersion, "the first message offers a KEM key")
        let offered = try #require(r.alice.ratchet.kemKey)
        #expect(r.bob.ratchet.sendingKEMCiphertext != nil && r.bob.ratchet.kemKey == nil, "Bob's first chain answers")
        let reply = try r.bobSeals("hello Alice")
        #expect(reply.ciphertext[1] == DoubleRatchet.hybridMessageVersion)
        #expect(try r.aliceOpens(reply).body == Array("hello Alice".utf8))
        #expect(r.alice.ratchet.requiresKEM && r.alice.ratchet.kemKey?.publicKey != offered.publicKey, "used, and a fresh offer")
        #expect(try r.bobOpens(try r.aliceSeals("and on")).body == Array("and on".utf8))
        #expect(r.bob.ratchet.requiresKEM)
    }

    /// Offline: the reply (Alice's first message, in a QR code) carries no KEM key; Bob's first
    /// message offers one, and Alice's next answers it.
    @Test func anOfflineReplyIsHybridFromTheAcceptersSecondMessage() throws {
        var r = try Relationship(seed: "hybrid invite offline", offline: true)
        #expect(r.firstMessage.ratchetMessage[1] == DoubleRatchet.messageVersion, "a classical first chain: the reply stays small")
        #expect(r.firstMessage.encoded().count < 1_000)
        #expect(r.alice.ratchet.kemKey == nil)
        #expect(r.bob.ratchet.kemKey != nil && r.bob.ratchet.sendingKEMCiphertext == nil, "Bob's first chain offers")
        #expect(try r.aliceOpens(try r.bobSeals("hello Alice")).body == Array("hello Alice".utf8))
        #expect(r.alice.ratchet.sendingKEMCiphertext != nil, "Alice's next chain answers")
        #expect(try r.bobOpens(try r.aliceSeals("answered")).body == Array("answered".utf8))
        #expect(r.bob.ratchet.requiresKEM && r.alice.ratchet.requiresKEM)
        // From here on a chain without its field is refused: Bob's next offer taken out.
        #expect(try r.aliceOpens(try r.bobSeals("b1")).body == Array("b1".utf8))
        #expect(r.alice.ratchet.kemKey == nil, "Alice answers, Bob offers")
        _ = try r.bobOpens(try r.aliceSeals("a2"))
        r.bob.ratchet.kemKey = nil
        let stripped = try r.bobSeals("b2")
        #expect(throws: Proton.Error.ratchet(.postQuantumStepMissing)) { try r.aliceOpens(stripped) }
    }

    /// The relationship state (proton state, with the ratchet's KEM state inside) survives the
    /// store mid-step: an offer outstanding and an answer to send.
    @Test func theKEMStateSurvivesTheStoredProtonState() throws {
        var r = try Relationship(seed: "hybrid invite stored")
        let reloadedAlice = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
        let reloadedBob = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)
        #expect(reloadedAlice.ratchet.kemKey?.publicKey == r.alice.ratchet.kemKey?.publicKey)
        #expect(reloadedBob.ratchet.sendingKEMCiphertext == r.bob.ratchet.sendingKEMCiphertext)
        r.alice = reloadedAlice
        r.bob = reloadedBob
        #expect(try r.aliceOpens(try r.bobSeals("after the store")).body == Array("after the store".utf8))
        #expect(try r.bobOpens(try r.aliceSeals("both ways")).body == Array("both ways".utf8))
    }
}
