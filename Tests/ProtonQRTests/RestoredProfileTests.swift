import Foundation
import GRDB
import Testing

/// A profile put back from a copy (a backup, a VM snapshot, a copied directory) derives the
/// same message keys again. The bodies it then sends must still be fresh encryptions, and both
/// sides must be told what happened: real `proton` processes and services on loopback.
@Suite("a restored profile", .serialized)
struct RestoredProfileTests {
    /// Alex and Blair talked once; then Blair's profile is copied (a backup, a snapshot).
    private static func pairedWithACopyOfBlair() async throws -> (sandbox: InviteSandbox, blair: URL, copy: URL) {
        let sandbox = try await InviteSandbox.paired()
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Welcome, Blair."))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        let blair = sandbox.profile("Blair")
        let copy = sandbox.root.appendingPathComponent("Blair-copy")
        try FileManager.default.copyItem(at: blair, to: copy)
        return (sandbox, blair, copy)
    }

    @Test func aRestoredProfileNeverRepeatsACiphertextAndBothSidesAreTold() async throws {
        // Blair's profile is copied, she sends, and the copy is put back.
        let (sandbox, blair, copy) = try await Self.pairedWithACopyOfBlair()
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "the same words"))
        try FileManager.default.removeItem(at: blair)
        try FileManager.default.moveItem(at: copy, to: blair)
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "the same words"))

        // The receiving service holds both: the same ratchet position and words, yet no byte of
        // the two bodies lines up, and their nonces differ.
        let held = try await DatabaseQueue(path: sandbox.serviceData("receiving").appendingPathComponent("receiving.sqlite").path)
            .read { db in try Data.fetchAll(db, sql: "SELECT ciphertext FROM message ORDER BY id") }
            .map { [UInt8]($0) }
        try #require(held.count >= 2)
        let (first, second) = (held[held.count - 2], held[held.count - 1])
        #expect(first.count == second.count)
        #expect(first[82..<106] != second[82..<106], "the body nonces repeat")
        let equalBytes = zip(first[110...], second[110...]).filter { $0 == $1 }.count
        #expect(equalBytes < 16, "\(equalBytes) body bytes equal: the keystream repeats")

        // Alex reads the first and is told the second came from an old copy of Blair's state.
        let atAlex = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(atAlex.stdout.components(separatedBy: "Blair: the same words").count == 2)
        #expect(atAlex.stderr.contains("sent from an old copy of its state"))
        let alexView = try await sandbox.require(sandbox.run("Alex", "show", "Blair", "--json")).stdout
        #expect(alexView.contains("\"peerSentFromOldStateAt\""))
        #expect(try await sandbox.require(sandbox.run("Alex", "show", "Blair")).stdout.contains("sent from an old copy of its state"))

        // Blair learns it on Alex's next message.
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Did you restore a backup?"))
        let atBlair = try await sandbox.require(sandbox.run("Blair", "receive"))
        #expect(atBlair.stdout.contains("Alex: Did you restore a backup?"))
        #expect(atBlair.stderr.contains("this profile sent from an old copy of its state"))
        let blairView = try await sandbox.require(sandbox.run("Blair", "show", "Alex", "--json")).stdout
        #expect(blairView.contains("\"weSentFromOldStateReportedAt\""))
    }

    /// A copy older than both sides' last ratchet steps: its messages past the chain's end
    /// are still recognised as an old copy's, and the copy, which can read nothing its peer
    /// sends any more (so no notice reaches it), says that messages at its own addresses
    /// could not be read.
    @Test func aCopyBehindBothRatchetStepsIsToldOnBothSides() async throws {
        let (sandbox, blair, copy) = try await Self.pairedWithACopyOfBlair()
        // Both sides ratchet after the copy: Blair, Alex, Blair.
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "one"))
        try await sandbox.require(sandbox.run("Alex", "receive"))
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "two"))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "three"))
        try await sandbox.require(sandbox.run("Alex", "receive"))

        try FileManager.default.removeItem(at: blair)
        try FileManager.default.moveItem(at: copy, to: blair)
        // The first reuses the position of "one", the second is past the end of that chain.
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "one, again"))
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "past the end"))
        let atAlex = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(!atAlex.stdout.contains("again") && !atAlex.stdout.contains("past the end"))
        #expect(atAlex.stderr.components(separatedBy: "sent from an old copy of its state").count == 3, "\(atAlex.stderr)")

        // Alex's next message carries the notice, but the copy cannot open it.
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Did you restore a backup?"))
        let atBlair = try await sandbox.require(sandbox.run("Blair", "receive"))
        #expect(!atBlair.stdout.contains("Did you restore a backup?"))
        #expect(atBlair.stderr.contains("does not decrypt"), "\(atBlair.stderr)")
        let blairView = try await sandbox.require(sandbox.run("Blair", "show", "Alex", "--json")).stdout
        #expect(blairView.contains("\"unreadableSince\""), "\(blairView)")
        #expect(blairView.contains("\"unreadableCount\" : 1"), "\(blairView)")
        let text = try await sandbox.require(sandbox.run("Blair", "show", "Alex")).stdout
        #expect(text.contains("could not be read"), "\(text)")
        #expect(text.contains("restored from a backup or a snapshot"), "\(text)")
    }
}
