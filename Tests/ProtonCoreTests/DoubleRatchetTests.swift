import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

struct DoubleRatchetTests {
    /// Bytes 2..<82 of a ratchet message: the sealed header (nonce, encrypted header, tag).

    // MARK: - Delivery

    @Test func deliversMessagesInOrderInBothDirections() throws {
        var pair = try RatchetPair(seed: "in order")
        for round in 0..<4 {
            for index in 0..<3 {
                let text = "alice \(round).\(index)"
                #expect(try pair.bobOpens(try pair.aliceSeals(text)) == text)
            }
            for index in 0..<2 {
                let text = "bob \(round).\(index)"
                #expect(try pair.aliceOpens(try pair.bobSeals(text)) == text)
            }
        }
        #expect(pair.alice.skippedKeys.entries.isEmpty)
        #expect(pair.bob.skippedKeys.entries.isEmpty)
    }

    @Test func deliversLaterMessagesFirstWithinMaxSkip() throws {
        var pair = try RatchetPair(seed: "out of order")
        let sent = try (0..<6).map { try pair.aliceSeals("a\($0)") }
        for index in [5, 2, 0, 4, 1, 3] {
            #expect(try pair.bobOpens(sent[index]) == "a\(index)")
        }
        #expect(pair.bob.skippedKeys.entries.isEmpty)
    }

    @Test func deliversOutOfOrderAcrossADHStep() throws {
        var pair = try RatchetPair(seed: "across a DH step")
        let a0 = try pair.aliceSeals("a0")
        let a1 = try pair.aliceSeals("a1")
        let a2 = try pair.aliceSeals("a2")
        #expect(try pair.bobOpens(a0) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        // Alice's next messages are in a new chain (new ratchet key, PN = 3).
        let c0 = try pair.aliceSeals("c0")
        let c1 = try pair.aliceSeals("c1")
        let c2 = try pair.aliceSeals("c2")
        // The newest first: Bob stores a1, a2 (old chain, via PN) and c0, c1 (new chain).
        #expect(try pair.bobOpens(c2) == "c2")
        #expect(pair.bob.skippedKeys.entries.count == 4)
        #expect(try pair.bobOpens(a2) == "a2")
        #expect(try pair.bobOpens(c0) == "c0")
        #expect(try pair.bobOpens(a1) == "a1")
        #expect(try pair.bobOpens(c1) == "c1")
        #expect(pair.bob.skippedKeys.entries.isEmpty)
        // And the conversation goes on.
        #expect(try pair.aliceOpens(try pair.bobSeals("b1")) == "b1")
    }

    @Test func refusesSkippingMoreThanMaxSkip() throws {
        var pair = try RatchetPair(seed: "max skip", limits: .init(maximumSkip: 5, capacity: 100))
        let sent = try (0..<7).map { try pair.aliceSeals("a\($0)") }
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.tooManySkippedMessages(requested: 6, limit: 5)) { try pair.bobOpens(sent[6]) }
        #expect(RatchetSnapshot(pair.bob) == before)
        // Exactly MAX_SKIP is allowed.
        #expect(try pair.bobOpens(sent[5]) == "a5")
        #expect(pair.bob.skippedKeys.entries.count == 5)
        #expect(try pair.bobOpens(sent[6]) == "a6")
    }

    @Test func refusesSkippingMoreThanMaxSkipThroughThePreviousChainLength() throws {
        var pair = try RatchetPair(seed: "max skip via PN", limits: .init(maximumSkip: 5, capacity: 100))
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        for index in 1...7 { _ = try pair.aliceSeals("lost a\(index)") }
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        // The new chain's header says PN = 8: seven messages to skip in the old chain.
        let c0 = try pair.aliceSeals("c0")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.tooManySkippedMessages(requested: 7, limit: 5)) { try pair.bobOpens(c0) }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    // MARK: - Replays

    @Test func rejectsReplayedMessageInTheSameChain() throws {
        var pair = try RatchetPair(seed: "duplicate")
        let a0 = try pair.aliceSeals("a0")
        let a1 = try pair.aliceSeals("a1")
        #expect(try pair.bobOpens(a0) == "a0")
        #expect(try pair.bobOpens(a1) == "a1")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.duplicateMessage) { try pair.bobOpens(a1) }
        #expect(throws: RatchetError.duplicateMessage) { try pair.bobOpens(a0) }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    @Test func rejectsReplayOfASkippedThenDeliveredMessage() throws {
        var pair = try RatchetPair(seed: "skipped replay")
        let a0 = try pair.aliceSeals("a0")
        let a1 = try pair.aliceSeals("a1")
        let a2 = try pair.aliceSeals("a2")
        #expect(try pair.bobOpens(a2) == "a2")
        #expect(try pair.bobOpens(a0) == "a0")  // from the skipped keys
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.duplicateMessage) { try pair.bobOpens(a0) }
        #expect(RatchetSnapshot(pair.bob) == before)
        #expect(pair.bob.skippedKeys.entries.map(\.messageNumber) == [1])
        #expect(try pair.bobOpens(a1) == "a1")
    }

    @Test func rejectsReplayOfASkippedMessageFromAnOldChain() throws {
        var pair = try RatchetPair(seed: "old chain replay")
        let a0 = try pair.aliceSeals("a0")
        let a1 = try pair.aliceSeals("a1")
        let a2 = try pair.aliceSeals("a2")
        #expect(try pair.bobOpens(a0) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        #expect(try pair.bobOpens(try pair.aliceSeals("c0")) == "c0")  // Bob stores a1, a2
        #expect(try pair.bobOpens(a1) == "a1")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.self) { try pair.bobOpens(a1) }
        #expect(throws: RatchetError.self) { try pair.bobOpens(a0) }
        #expect(RatchetSnapshot(pair.bob) == before)
        #expect(try pair.bobOpens(a2) == "a2")
        #expect(throws: RatchetError.self) { try pair.bobOpens(a2) }
    }

    // MARK: - Tampering leaves the state as it was

    /// Bob holds skipped keys and Alice's next message starts a new chain, so opening it would
    /// store keys, step the ratchet and advance a chain: all of it must be rolled back.
    private func tamperingScenario(_ seed: String) throws -> (pair: RatchetPair, message: [UInt8]) {
        var pair = try RatchetPair(seed: seed)
        let a = try (0..<3).map { try pair.aliceSeals("a\($0)") }
        #expect(try pair.bobOpens(a[2]) == "a2")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        _ = try pair.aliceSeals("c0 (not delivered)")
        let c1 = try pair.aliceSeals("c1")
        #expect(pair.bob.skippedKeys.entries.count == 2)
        return (pair, c1)
    }

    /// Alice's third chain offers a KEM key: c1 is a version 3 message of the 1,280 bucket,
    /// its sealed header 2..<1266 (the key inside), its body nonce 1266..<1290, its body 1290..<1402.
    static let tamperedLayout = (header: 2..<1266, nonce: 1266..<1290, body: 1290..<1402)

    @Test(arguments: [2, 3, 25, 26, 40, 65, 66, 81, 82, 600, 1200, 1265])
    func rejectsTamperedHeaderByteWithStateUnchanged(_ offset: Int) throws {
        let (scenario, message) = try tamperingScenario("tampered header")
        var pair = scenario
        #expect(DoubleRatchet.layout(of: message, kemByteCount: MLKEM.publicKeyByteCount) == Self.tamperedLayout)
        #expect(Self.tamperedLayout.header.contains(offset))
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.undecryptableHeader) { try pair.bobOpens(message.flipping(byte: offset)) }
        #expect(RatchetSnapshot(pair.bob) == before)
        #expect(try pair.bobOpens(message) == "c1")
    }

    @Test(arguments: [1266, 1280, 1289, 1290, 1291, 1350, 1385, 1386, 1401])
    func rejectsTamperedBodyByteWithStateUnchanged(_ offset: Int) throws {
        let (scenario, message) = try tamperingScenario("tampered body")
        var pair = scenario
        #expect(message.count == 1402 && offset >= 1266)
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.authenticationFailure) { try pair.bobOpens(message.flipping(byte: offset)) }
        #expect(RatchetSnapshot(pair.bob) == before)
        #expect(try pair.bobOpens(message) == "c1")
    }

    @Test func rejectsTamperedFirstMessageWithStateUnchanged() throws {
        var pair = try RatchetPair(seed: "tampered first")
        let a0 = try pair.aliceSeals("a0")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.authenticationFailure) { try pair.bobOpens(a0.flipping(byte: a0.count - 1)) }
        #expect(throws: RatchetError.undecryptableHeader) { try pair.bobOpens(a0.flipping(byte: 50)) }
        #expect(RatchetSnapshot(pair.bob) == before)
        #expect(!pair.bob.canSend)
        #expect(try pair.bobOpens(a0) == "a0")
    }

    @Test func rejectsWrongAssociatedData() throws {
        var pair = try RatchetPair(seed: "associated data")
        let a0 = try pair.aliceSeals("a0")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.authenticationFailure) {
            try pair.bob.decrypt(a0, associatedData: Array("another relationship".utf8), now: testNow, random: pair.random)
        }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    @Test func rejectsMessageFromAnotherRelationship() throws {
        var pair = try RatchetPair(seed: "relationship one")
        var other = try RatchetPair(seed: "relationship two")
        let foreign = try other.aliceSeals("not for Bob")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.undecryptableHeader) { try pair.bobOpens(foreign) }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    // MARK: - Security properties

    @Test func recoversFromCompromiseAfterADHRoundTrip() throws {
        var pair = try RatchetPair(seed: "post-compromise")
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")

        // The attacker copies all of Bob's state.
        let stolen = pair.bob.serializedState()
        let attackerRandom = DeterministicRandom(seed: "attacker")
        var stale = try DoubleRatchet(serializedState: stolen, skippedKeys: pair.bob.skippedKeys.entries)
        var tracking = try DoubleRatchet(serializedState: stolen, skippedKeys: pair.bob.skippedKeys.entries)

        // With the copy the attacker reads what Alice sends next: the compromise is real.
        let c0 = try pair.aliceSeals("c0")
        #expect(try tracking.decrypt(c0, associatedData: pair.associatedData, now: testNow, random: attackerRandom)
            == Array("c0".utf8))
        #expect(try pair.bobOpens(c0) == "c0")

        // Bob answers with a fresh ratchet key, Alice answers that: a DH round trip.
        #expect(try pair.aliceOpens(try pair.bobSeals("b1")) == "b1")
        let healed = try pair.aliceSeals("healed")

        for var attacker in [stale, tracking] {
            do {
                _ = try attacker.decrypt(healed, associatedData: pair.associatedData, now: testNow, random: attackerRandom)
                Issue.record("a copy of Bob's old state read a message sent after the DH round trip")
            } catch {
                #expect(error == .undecryptableHeader || error == .authenticationFailure)
            }
        }
        #expect(try pair.bobOpens(healed) == "healed")
        let later = try pair.aliceSeals("later")
        #expect(throws: RatchetError.self) {
            try stale.decrypt(later, associatedData: pair.associatedData, now: testNow, random: attackerRandom)
        }
        #expect(throws: RatchetError.self) {
            try tracking.decrypt(later, associatedData: pair.associatedData, now: testNow, random: attackerRandom)
        }
        #expect(try pair.bobOpens(later) == "later")
    }

    @Test func headerEncryptionHidesCountersAndRatchetKeys() throws {
        var pair = try RatchetPair(seed: "header encryption")
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        let first = try pair.aliceSeals("same chain")
        let second = try pair.aliceSeals("same chain")
        // Alice's second chain offers a KEM key, inside the sealed header.
        let headerRange = DoubleRatchet.layout(of: first, kemByteCount: MLKEM.publicKeyByteCount).header
        let headers = [first, second].map { Array($0[headerRange]) }
        #expect(headers[0].count == 80 + MLKEM.publicKeyByteCount)
        let offered = try #require(pair.alice.kemKey).publicKey.rawRepresentation
        for message in [first, second] { #expect(!message.sharesSubstring(with: offered, length: 8)) }
        #expect(!headers[0].sharesSubstring(with: headers[1], length: 4))

        let ratchetKey = pair.alice.sendingRatchetKey.publicKey.rawRepresentation
        for message in [first, second] {
            #expect(!message.containsSubsequence(ratchetKey))
            #expect(!message.sharesSubstring(with: ratchetKey, length: 8))
        }
        // The headers really do hold consecutive counters under that key.
        let headerKey = try #require(pair.alice.sendingHeaderKey)
        let opened = headers.compactMap { headerKey.open($0) }
        #expect(opened.map(\.messageNumber) == [0, 1])
        #expect(opened.allSatisfy { $0.ratchetKey.rawRepresentation == ratchetKey })
        #expect(try pair.bobOpens(first) == "same chain")
        #expect(try pair.bobOpens(second) == "same chain")
    }

    /// The initiator's first chain offers a KEM key (1,184 bytes), which shares the bucket with
    /// the plaintext: 95 bytes still fit the 1,280 bucket, 96 do not.
    @Test(arguments: [
        (0, 1280), (1, 1280), (95, 1280), (96, 4096), (1000, 4096), (5000, 16384), (63263, 65536),
    ])
    func padsCiphertextsToFixedBuckets(_ size: Int, _ bucket: Int) throws {
        var pair = try RatchetPair(seed: "buckets \(size)")
        let plaintext = pair.random.bytes(size)
        let message = try pair.alice.encrypt(plaintext, associatedData: pair.associatedData, random: pair.random)
        #expect(message.count == DoubleRatchet.ciphertextByteCount(bucket: bucket))
        #expect(message.count == 2 + 80 + 24 + bucket + 16)
        #expect(message[1] == 3)
        #expect(try pair.bob.decrypt(message, associatedData: pair.associatedData, now: testNow, random: pair.random)
            == plaintext)
    }

    /// The answering chain carries a ciphertext (1,088 bytes): 191 bytes fit the 1,280 bucket.
    @Test(arguments: [(0, 1280), (191, 1280), (192, 4096)])
    func anAnsweringChainPadsWithItsCiphertext(_ size: Int, _ bucket: Int) throws {
        var pair = try RatchetPair(seed: "answer buckets \(size)")
        _ = try pair.bobOpens(try pair.aliceSeals("offer"))
        let message = try pair.bob.encrypt(pair.random.bytes(size), associatedData: pair.associatedData, random: pair.random)
        #expect(message.count == DoubleRatchet.ciphertextByteCount(bucket: bucket))
        #expect(pair.bob.sendingKEMCiphertext != nil && pair.bob.kemKey == nil, "it answers and offers nothing")
        #expect(try pair.alice.decrypt(message, associatedData: pair.associatedData, now: testNow, random: pair.random).count == size)
    }

    @Test func ciphertextLengthsAreOnlyTheBucketLengths() throws {
        var pair = try RatchetPair(seed: "bucket set")
        var lengths = Set<Int>()
        for size in stride(from: 0, to: 20000, by: 97) {
            lengths.insert(try pair.alice.encrypt(pair.random.bytes(size), associatedData: [], random: pair.random).count)
        }
        // A chain offering a key never fits the smallest bucket.
        let allowed = Set(DoubleRatchet.paddingBuckets.dropFirst().map { DoubleRatchet.ciphertextByteCount(bucket: $0) })
        #expect(lengths == allowed)  // sizes up to 19,982 reach all four
        #expect(DoubleRatchet.paddingBuckets == [256, 1280, 4096, 16384, 65536])
    }

    @Test func refusesPlaintextOver63263Bytes() throws {
        var pair = try RatchetPair(seed: "too large")
        let before = RatchetSnapshot(pair.alice)
        #expect(throws: RatchetError.plaintextTooLarge(limit: 63263)) {
            try pair.alice.encrypt([UInt8](repeating: 7, count: 63264), associatedData: [], random: pair.random)
        }
        #expect(RatchetSnapshot(pair.alice) == before)
    }

    // MARK: - Skipped keys

    @Test func skippedKeysExpireAfterTheirLifetime() throws {
        var pair = try RatchetPair(seed: "expiry", limits: .init(maximumSkip: 10, capacity: 10, lifetime: 3600))
        let sent = try (0..<5).map { try pair.aliceSeals("a\($0)") }
        #expect(try pair.bobOpens(sent[3], now: testNow) == "a3")
        #expect(pair.bob.skippedKeys.entries.map(\.messageNumber) == [0, 1, 2])
        #expect(pair.bob.skippedKeys.entries.allSatisfy { $0.storedAt == testNow })
        // Just inside the lifetime a skipped key still works.
        #expect(try pair.bobOpens(sent[1], now: testNow + 3599) == "a1")
        // Past it, the next message drops the rest.
        #expect(try pair.bobOpens(sent[4], now: testNow + 3601) == "a4")
        #expect(pair.bob.skippedKeys.entries.isEmpty)
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.self) { try pair.bobOpens(sent[0], now: testNow + 3602) }
        #expect(throws: RatchetError.self) { try pair.bobOpens(sent[2], now: testNow + 3602) }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    @Test func skippedKeysStayWithinCapacityDroppingTheOldest() throws {
        var pair = try RatchetPair(seed: "capacity", limits: .init(maximumSkip: 10, capacity: 4))
        let sent = try (0..<9).map { try pair.aliceSeals("a\($0)") }
        #expect(try pair.bobOpens(sent[8]) == "a8")
        #expect(pair.bob.skippedKeys.entries.map(\.messageNumber) == [4, 5, 6, 7])
        #expect(throws: RatchetError.self) { try pair.bobOpens(sent[0]) }
        #expect(try pair.bobOpens(sent[5]) == "a5")

        // Across chains too: skipping in a new chain pushes out the old chain's keys.
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        let next = try (0..<4).map { try pair.aliceSeals("c\($0)") }
        #expect(try pair.bobOpens(next[3]) == "c3")
        #expect(pair.bob.skippedKeys.entries.count == 4)
        #expect(throws: RatchetError.self) { try pair.bobOpens(sent[4]) }
        #expect(try pair.bobOpens(next[0]) == "c0")
    }

    // MARK: - Persistence

    @Test func continuesAfterSerializedStateRoundTrip() throws {
        var pair = try RatchetPair(seed: "serialization")
        let a = try (0..<3).map { try pair.aliceSeals("a\($0)") }
        #expect(try pair.bobOpens(a[2]) == "a2")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")

        let restoredBob = try DoubleRatchet(
            serializedState: pair.bob.serializedState(), skippedKeys: pair.bob.skippedKeys.entries)
        let restoredAlice = try DoubleRatchet(
            serializedState: pair.alice.serializedState(), skippedKeys: pair.alice.skippedKeys.entries)
        #expect(RatchetSnapshot(restoredBob) == RatchetSnapshot(pair.bob))
        #expect(RatchetSnapshot(restoredAlice) == RatchetSnapshot(pair.alice))
        #expect(restoredBob.skippedKeys.limits == pair.bob.skippedKeys.limits)
        pair.bob = restoredBob
        pair.alice = restoredAlice

        #expect(try pair.bobOpens(a[0]) == "a0")  // a skipped key that went through storage
        #expect(try pair.bobOpens(try pair.aliceSeals("c0")) == "c0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b1")) == "b1")
        #expect(try pair.bobOpens(a[1]) == "a1")
    }

    /// Found in review of the fuzz targets: a stored skipped key of the wrong length loaded, and
    /// the message it was kept for then trapped (`try!` on the AEAD key) instead of the profile
    /// being reported damaged.
    @Test func refusesAStoredSkippedKeyOfTheWrongLength() throws {
        var pair = try RatchetPair(seed: "skipped key length")
        let a = try (0..<2).map { try pair.aliceSeals("a\($0)") }
        #expect(try pair.bobOpens(a[1]) == "a1")
        let entry = try #require(pair.bob.skippedKeys.entries.first)
        for (headerKey, messageKey) in [
            (entry.headerKey, SecureBytes([UInt8](repeating: 7, count: 31))),
            (SecureBytes([UInt8](repeating: 7, count: 33)), entry.messageKey),
        ] {
            let damaged = SkippedMessageKey(
                headerKey: headerKey, messageNumber: entry.messageNumber, messageKey: messageKey, storedAt: entry.storedAt)
            #expect(throws: WireError.self) {
                try DoubleRatchet(serializedState: pair.bob.serializedState(), skippedKeys: [damaged])
            }
        }
    }

    @Test func refusesSerializedStateWithMoreSkippedKeysThanItsCapacity() throws {
        var pair = try RatchetPair(seed: "state capacity", limits: .init(maximumSkip: 5, capacity: 2))
        _ = try pair.aliceSeals("a0")
        _ = try pair.aliceSeals("a1")
        #expect(try pair.bobOpens(try pair.aliceSeals("a2")) == "a2")
        let keys = pair.bob.skippedKeys.entries
        #expect(keys.count == 2)
        #expect(throws: WireError.oversized(field: "skipped keys", limit: 2, actual: 4)) {
            try DoubleRatchet(serializedState: pair.bob.serializedState(), skippedKeys: keys + keys)
        }
    }

    @Test func refusesTruncatedOrExtendedSerializedState() throws {
        let pair = try RatchetPair(seed: "state parse")
        let bytes = pair.alice.serializedState().unsafeExportedBytes()
        for length in [0, 1, 33, bytes.count - 1] {
            #expect(throws: WireError.self) {
                try DoubleRatchet(serializedState: SecureBytes(bytes.prefix(length)), skippedKeys: [])
            }
        }
        #expect(throws: WireError.trailingBytes(count: 1)) {
            try DoubleRatchet(serializedState: SecureBytes(bytes + [0]), skippedKeys: [])
        }
    }

    // MARK: - Roles

    @Test func responderCannotSendBeforeReceiving() throws {
        var pair = try RatchetPair(seed: "responder waits")
        #expect(pair.alice.canSend)
        #expect(!pair.bob.canSend)
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.cannotSendYet) { try pair.bobSeals("too early") }
        #expect(RatchetSnapshot(pair.bob) == before)
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(pair.bob.canSend)
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
    }

    @Test func bothSidesDeriveTheSameSeedFromTheSameSecret() throws {
        let secret = SecureBytes([UInt8](repeating: 0x42, count: 32))
        let one = try RatchetSeed(sharedSecret: secret)
        let two = try RatchetSeed(sharedSecret: secret)
        let other = try RatchetSeed(sharedSecret: SecureBytes([UInt8](repeating: 0x43, count: 32)))
        #expect(one.rootKey.secret.isEqual(to: two.rootKey.secret))
        #expect(one.initiatorHeaderKey.isSameKey(as: two.initiatorHeaderKey))
        #expect(!one.initiatorHeaderKey.isSameKey(as: one.responderNextHeaderKey))
        #expect(!one.rootKey.secret.isEqual(to: other.rootKey.secret))
    }
}
