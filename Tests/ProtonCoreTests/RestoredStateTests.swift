import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// A sender restored from an old copy of its state (a backup, a VM snapshot, a copied profile)
/// derives the same message keys again: its bodies must still be fresh encryptions, and the
/// receiver must tell that apart from a duplicate.
struct RestoredStateTests {
    @Test func aRestoredSenderNeverRepeatsABodyAndIsToldApartFromADuplicate() throws {
        var pair = try RatchetPair(seed: "restored sender", classical: true)
        let snapshot = pair.alice
        let first = try pair.aliceSeals("the same words")
        pair.alice = snapshot
        let second = try pair.aliceSeals("the same words")

        #expect(first.count == second.count)
        #expect(first[82..<106] != second[82..<106])
        #expect(zip(first[110...], second[110...]).filter { $0 == $1 }.count < 16)

        #expect(try pair.bobOpens(first) == "the same words")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.staleSenderState) { try pair.bobOpens(second) }
        #expect(throws: RatchetError.duplicateMessage) { try pair.bobOpens(first) }
        // A replay with its body or body nonce altered (what a receiving service could serve)
        // is a duplicate, not a false alarm about the peer's state.
        for offset in [90, first.count - 1] {
            #expect(throws: RatchetError.duplicateMessage) { try pair.bobOpens(first.flipping(byte: offset)) }
        }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    /// A copy older than the peer's last ratchet step sends under a header key the receiver has
    /// moved on from: still recognised, by the earlier header keys it keeps.
    @Test func aCopyFromAnEarlierChainIsRecognised() throws {
        var pair = try RatchetPair(seed: "restored earlier chain")
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        let snapshot = pair.alice
        let a1 = try pair.aliceSeals("a1")
        #expect(try pair.bobOpens(a1) == "a1")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        #expect(try pair.bobOpens(try pair.aliceSeals("a2 in a new chain")) == "a2 in a new chain")

        var restored = snapshot
        let stale = try restored.encrypt(Array("a1 again".utf8), associatedData: pair.associatedData, random: pair.random)
        #expect(throws: RatchetError.staleSenderState) { try pair.bobOpens(stale) }
        #expect(throws: RatchetError.duplicateMessage) { try pair.bobOpens(a1) }
    }

    @Test func theReceiptsSurviveTheStoredStateAndAVersionOneStateStillLoads() throws {
        var pair = try RatchetPair(seed: "receipts stored")
        let snapshot = pair.alice
        let first = try pair.aliceSeals("x")
        #expect(try pair.bobOpens(first) == "x")
        pair.alice = snapshot
        let second = try pair.aliceSeals("y")

        let stored = pair.bob.versionThreeState()
        var reloaded = try DoubleRatchet(serializedState: SecureBytes(stored), skippedKeys: pair.bob.skippedKeys.entries)
        #expect(throws: RatchetError.staleSenderState) {
            try reloaded.decrypt(second, associatedData: pair.associatedData, now: testNow, random: pair.random)
        }

        // Version 1 is version 3 without the two lists at the end (one count byte each, here
        // one receipt and no earlier header key, so no chain length either).
        var versionOne = Array(stored.dropLast(1 + 1 + ReceiptLog.Receipt.byteCount))
        versionOne[0] = 1
        var old = try DoubleRatchet(serializedState: SecureBytes(versionOne), skippedKeys: pair.bob.skippedKeys.entries)
        #expect(old.receipts.receipts.isEmpty)
        #expect(throws: RatchetError.duplicateMessage) {
            try old.decrypt(second, associatedData: pair.associatedData, now: testNow, random: pair.random)
        }
    }

    /// The receiver records it and says so on its next message; the restored side learns it.
    @Test func bothSidesLearnOfTheOldCopy() throws {
        var r = try Relationship(seed: "stale notice")
        _ = try r.aliceOpens(try r.bobSeals("hello Alice"))
        let snapshot = r.alice
        _ = try r.bobOpens(try r.aliceSeals("one"))
        r.alice = snapshot
        let stale = try r.aliceSeals("one, again")

        #expect(throws: Proton.Error.ratchet(.staleSenderState)) { try r.bobOpens(stale) }
        r.bob.notePeerSentFromStaleState(now: testNow)
        #expect(r.bob.peerStaleStateSeenAt == testNow)
        let reloaded = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)
        #expect(reloaded.peerStaleStateSeenAt == testNow)

        let told = try r.aliceOpens(try r.bobSeals("did you restore a backup?"))
        #expect(told.reportsOurStaleState)
        #expect(r.alice.ourStaleStateReportedAt == testNow)
        // The notice rides on one message only.
        #expect(try !r.aliceOpens(try r.bobSeals("and again")).reportsOurStaleState)
    }

    /// A copy older than both sides' last ratchet steps: a message past the end of the chain
    /// the peer moved on from is stale too (the receiver keeps each earlier chain's length),
    /// and the copy can open nothing the peer sends, which it records.
    @Test func aCopyBehindBothRatchetStepsIsToldOnBothSides() throws {
        var r = try Relationship(seed: "both ratcheted")
        _ = try r.aliceOpens(try r.bobSeals("hello Alice"))
        let snapshot = r.alice
        _ = try r.bobOpens(try r.aliceSeals("one"))
        _ = try r.aliceOpens(try r.bobSeals("two"))
        _ = try r.bobOpens(try r.aliceSeals("three"))

        r.alice = snapshot
        let reused = try r.aliceSeals("one, again")
        let past = try r.aliceSeals("past the end of that chain")
        #expect(throws: Proton.Error.ratchet(.staleSenderState)) { try r.bobOpens(past) }
        #expect(throws: Proton.Error.ratchet(.staleSenderState)) { try r.bobOpens(reused) }
        // The chain's length is stored with the state.
        var reloaded = try Proton(serializedState: r.bob.serializedState(), skippedKeys: r.bob.skippedKeys)
        #expect(throws: Proton.Error.ratchet(.staleSenderState)) {
            try reloaded.open(past.ciphertext, at: past.routes[0].address, now: testNow, random: r.random)
        }

        let fromBob = try r.bobSeals("did you restore a backup?")
        #expect(throws: Proton.Error.ratchet(.undecryptableHeader)) { try r.aliceOpens(fromBob) }
        r.alice.noteUnreadableMessage(now: testNow)
        r.alice.noteUnreadableMessage(now: testNow.addingTimeInterval(60))
        let stored = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
        #expect(stored.unreadableSince == testNow)
        #expect(stored.unreadableCount == 2)
    }

    /// The mark is cleared by the next message that can be read (it was altered on the way,
    /// not an old copy), and a version 2 state, without it, still loads.
    @Test func theUnreadableMarkClearsAndAnOlderStateLoads() throws {
        var r = try Relationship(seed: "unreadable mark")
        _ = try r.aliceOpens(try r.bobSeals("hello Alice"))
        r.alice.noteUnreadableMessage(now: testNow)
        // Version 4 appends a count byte (here 0) after version 3's 12 bytes.
        var versionTwo = r.alice.serializedState().unsafeExportedBytes().dropLast(1 + 8 + 4)
        versionTwo[versionTwo.startIndex] = 2
        let older = try Proton(serializedState: SecureBytes(Array(versionTwo)), skippedKeys: r.alice.skippedKeys)
        #expect(older.unreadableSince == nil && older.unreadableCount == 0)

        _ = try r.aliceOpens(try r.bobSeals("readable again"))
        #expect(r.alice.unreadableSince == nil && r.alice.unreadableCount == 0)
    }

    /// A version 2 ratchet state holds its earlier chains' header keys without their lengths:
    /// it loads with the lengths unknown, so a message on such a chain is never taken for an
    /// old copy's by its position alone.
    @Test func aVersionTwoStateWithEarlierChainsLoadsWithTheirLengthsUnknown() throws {
        var pair = try RatchetPair(seed: "version two earlier chains")
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        #expect(try pair.bobOpens(try pair.aliceSeals("a1")) == "a1")
        let bob = pair.bob
        try #require(bob.previousReceivingChains.map(\.length) == [1])

        // Version 3 writes each earlier key followed by its length (u32): take the lengths out.
        var bytes = bob.versionThreeState()
        for chain in bob.previousReceivingChains {
            let key = chain.headerKey.secret.unsafeExportedBytes()
            let end = try #require(bytes.firstRange(of: key)).upperBound
            #expect(Array(bytes[end..<end + 4]) == [0, 0, 0, 1])
            bytes.removeSubrange(end..<end + 4)
        }
        bytes[0] = 2
        let loaded = try DoubleRatchet(serializedState: SecureBytes(bytes), skippedKeys: bob.skippedKeys.entries)
        #expect(loaded.previousReceivingChains.map(\.length) == [UInt32.max])
        #expect(
            loaded.previousReceivingChains.map { $0.headerKey.secret.unsafeExportedBytes() }
                == bob.previousReceivingChains.map { $0.headerKey.secret.unsafeExportedBytes() })
    }
}
