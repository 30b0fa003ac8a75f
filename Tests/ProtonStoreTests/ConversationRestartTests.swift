import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonStore

/// Each party's state lives only in its profile: the tests reload the proton from the store for
/// every step, and close and reopen the stores between steps, as separate processes would.
struct ConversationRestartTests {
    @Test func aConversationContinuesAfterTheProcessRestarts() throws {
        var pair = try PairedProfiles()
        try conversationSurvivesRestarts(&pair, passphrase: nil)
    }

    @Test func aPassphraseProtectedConversationContinuesAfterTheProcessRestarts() throws {
        let passphrase = SecureBytes(Array("correct horse battery staple".utf8))
        var pair = try PairedProfiles(passphrase: passphrase)
        try conversationSurvivesRestarts(&pair, passphrase: passphrase)
    }

    private func conversationSurvivesRestarts(_ pair: inout PairedProfiles, passphrase: SecureBytes?) throws {
        // Blair answers the first message; Alex sends three, of which the third overtakes the second.
        try pair.alex.receive(try pair.blair.send("hi Alex"))
        let a1 = try pair.alex.send("a1")
        let a2 = try pair.alex.send("a2")
        let a3 = try pair.alex.send("a3")
        #expect(try pair.blair.receive(a1) == "a1")
        #expect(try pair.blair.receive(a3) == "a3")
        let blairProton = try #require(pair.blair.protonID)
        #expect(try pair.blair.store.proton(blairProton).skippedKeys.count == 1)
        let b1 = try pair.blair.send("b1")

        try pair.alex.restart(passphrase: passphrase)
        try pair.blair.restart(passphrase: passphrase)

        // The late message opens with the skipped key that was persisted before the restart.
        #expect(try pair.blair.receive(a2) == "a2")
        #expect(try pair.blair.store.proton(blairProton).skippedKeys.isEmpty)
        // Alex's in-flight messages are still in the outbox; Blair's reply is still deliverable.
        #expect(try pair.alex.store.outbox().map(\.ciphertext) == [a1, a2, a3].map(\.ciphertext))
        #expect(try pair.alex.receive(b1) == "b1")

        // Both directions keep ratcheting, across one more restart.
        let a4 = try pair.alex.send("a4")
        #expect(try pair.blair.receive(a4) == "a4")
        let b2 = try pair.blair.send("b2")
        let b3 = try pair.blair.send("b3")
        try pair.alex.restart(passphrase: passphrase)
        try pair.blair.restart(passphrase: passphrase)
        #expect(try pair.alex.receive(b3) == "b3")
        #expect(try pair.alex.receive(b2) == "b2")
        #expect(try pair.blair.receive(try pair.alex.send("a5")) == "a5")

        // The log shows each sender's messages in the order sent: a3 was held back until a2
        // arrived (across a restart), b3 until b2.
        #expect(
            try pair.alex.log() == [
                "> hello Blair", "< hi Alex", "> a1", "> a2", "> a3", "< b1", "> a4", "< b2", "< b3", "> a5",
            ])
        #expect(
            try pair.blair.log() == [
                "< hello Blair", "> hi Alex", "< a1", "> b1", "< a2", "< a3", "< a4", "> b2", "> b3", "< a5",
            ])
    }

    @Test func aReplayedMessageIsRefusedAfterARestart() throws {
        var pair = try PairedProfiles()
        let a1 = try pair.alex.send("a1")
        try pair.blair.receive(a1)
        try pair.blair.restart()
        #expect(throws: Proton.Error.ratchet(.duplicateMessage)) { try pair.blair.receive(a1) }
        #expect(try pair.blair.log() == ["< hello Blair", "< a1"])
    }
}
