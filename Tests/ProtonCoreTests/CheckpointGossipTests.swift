import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// The `checkpoint` proton update (docs/wire-format.md): a directory checkpoint given to the
/// peer at most once per checkpoint, repeated like every update until acknowledged, one in
/// flight at a time, never crowding out a rotation or a body.
struct CheckpointGossipTests {
    static func offer(_ origin: String = "directory.example.org", size: UInt64, note: String? = nil) -> Proton.CheckpointOffer {
        Proton.CheckpointOffer(origin: origin, size: size, note: Array((note ?? "\(origin)\n\(size)\nroot\n\n— sig\n").utf8))
    }

    /// The checkpoints among `updates`.
    static func checkpoints(_ updates: [ProtonUpdate]) -> [[UInt8]] {
        updates.compactMap { if case .checkpoint(let note) = $0.change { note } else { nil } }
    }

    @Test func aCheckpointGoesOnceAndIsRepeatedUntilAcknowledged() throws {
        var r = try Relationship(seed: "gossip once")
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let first = Self.offer(size: 5)
        do {
            let queued = r.alice.offerCheckpoint(first, bodyByteCount: 2)
            #expect(queued)
        }
        do {
            let queued = r.alice.offerCheckpoint(first, bodyByteCount: 2)
            #expect(!queued, "already given")
        }
        do {
            let queued = r.alice.offerCheckpoint(Self.offer("other.example", size: 1), bodyByteCount: 2)
            #expect(!queued, "one in flight at a time")
        }

        let m1 = try r.aliceSeals("m1")
        let m2 = try r.aliceSeals("m2")  // repeats it: no acknowledgement yet
        #expect(Self.checkpoints(try r.bobOpens(m1).appliedUpdates) == [first.note])
        #expect(Self.checkpoints(try r.bobOpens(m2).appliedUpdates).isEmpty, "a repeat is applied once")

        _ = try r.aliceOpens(try r.bobSeals("ack"))
        #expect(Self.checkpoints(r.alice.pendingUpdates).isEmpty)
        do {
            let queued = r.alice.offerCheckpoint(first, bodyByteCount: 2)
            #expect(!queued, "the same checkpoint is never given twice")
        }
        do {
            let queued = r.alice.offerCheckpoint(Self.offer(size: 4), bodyByteCount: 2)
            #expect(!queued, "nor an older one")
        }
        do {
            let queued = r.alice.offerCheckpoint(Self.offer("other.example", size: 1), bodyByteCount: 2)
            #expect(queued, "another log's is")
        }
        _ = try r.bobOpens(try r.aliceSeals("m3"))
        _ = try r.aliceOpens(try r.bobSeals("ack"))
        let newer = Self.offer(size: 9)
        do {
            let queued = r.alice.offerCheckpoint(newer, bodyByteCount: 2)
            #expect(queued, "a newer one is")
        }
        #expect(Self.checkpoints(try r.bobOpens(try r.aliceSeals("m4")).appliedUpdates) == [newer.note])
        #expect(r.alice.checkpointsSent.map(\.origin) == ["other.example", "directory.example.org"])
        #expect(r.alice.checkpointsSent.map(\.size) == [1, 9])
    }

    @Test func whatWasGivenSurvivesTheStoredState() throws {
        var r = try Relationship(seed: "gossip state")
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        do {
            let queued = r.alice.offerCheckpoint(Self.offer(size: 5), bodyByteCount: 0)
            #expect(queued)
        }
        let restored = try Proton(serializedState: r.alice.serializedState(), skippedKeys: r.alice.skippedKeys)
        #expect(restored.checkpointsSent.map(\.size) == [5])
        #expect(restored.pendingUpdates == r.alice.pendingUpdates)
        var again = restored
        do {
            let queued = again.offerCheckpoint(Self.offer(size: 5), bodyByteCount: 0)
            #expect(!queued)
        }
    }

    @Test func aVersionThreeStateLoadsWithNothingGiven() throws {
        var r = try Relationship(seed: "gossip version 3")
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        var versionThree = r.alice.serializedState().unsafeExportedBytes().dropLast(1)  // the count byte, 0
        versionThree[versionThree.startIndex] = 3
        var older = try Proton(serializedState: SecureBytes(Array(versionThree)), skippedKeys: r.alice.skippedKeys)
        #expect(older.checkpointsSent.isEmpty)
        let queued = older.offerCheckpoint(Self.offer(size: 5), bodyByteCount: 0)
        #expect(queued)
    }

    @Test func aPayloadWithTwoCheckpointsIsRefused() throws {
        let note = Array("a\n1\nr\n".utf8)
        let payload = ProtonPayload(
            acknowledged: 0, sequence: 1,
            updates: [ProtonUpdate(sequence: 1, change: .checkpoint(note)), ProtonUpdate(sequence: 2, change: .checkpoint(note))], body: [])
        #expect(throws: WireError.invalidValue(field: "updates", reason: "more than one checkpoint")) {
            try ProtonPayload(decoding: payload.encoded())
        }
    }

    @Test func aCheckpointNeverCrowdsOutABodyARotationOrTheLimits() throws {
        var r = try Relationship(seed: "gossip room", policy: ProtonTests.rotating)
        _ = try r.aliceOpens(try r.bobSeals("hi"))
        let full = DoubleRatchet.maximumPlaintextByteCount - ProtonPayload.overhead(updates: [])
        do {
            let queued = r.alice.offerCheckpoint(Self.offer(size: 5), bodyByteCount: full)
            #expect(!queued, "no room beside the largest body")
        }
        let tooLarge = Proton.CheckpointOffer(
            origin: "directory.example.org", size: 5, note: Array(repeating: 0x61, count: ProtonUpdate.maximumCheckpointByteCount + 1))
        do {
            let queued = r.alice.offerCheckpoint(tooLarge, bodyByteCount: 0)
            #expect(!queued)
        }
        do {
            let queued = r.alice.offerCheckpoint(Proton.CheckpointOffer(origin: "directory.example.org", size: 5, note: [0xff, 0xfe]), bodyByteCount: 0)
            #expect(!queued)
        }
        do {
            let queued = r.alice.offerCheckpoint(Self.offer(String(repeating: "o", count: 256), size: 5), bodyByteCount: 0)
            #expect(!queued)
        }
        // Several pending updates (offers awaiting acknowledgement) leave rotation its room.
        for _ in 0..<(Proton.maximumPendingUpdates / 4) {
            let fresh = try r.routes.ownRoute()
            try r.alice.issue(fresh.route, authKey: fresh.authKey, now: testNow)
        }
        do {
            let queued = r.alice.offerCheckpoint(Self.offer(size: 5), bodyByteCount: 0)
            #expect(!queued)
        }
        #expect(r.alice.checkpointsSent.isEmpty)
        _ = r.alice.block()
        do {
            let queued = r.alice.offerCheckpoint(Self.offer(size: 5), bodyByteCount: 0)
            #expect(!queued, "nothing goes to a blocked contact")
        }
    }

    @Test func theReceiverRefusesAMalformedCheckpointUpdate() throws {
        func payload(note: [UInt8]) -> [UInt8] {
            ProtonPayload(acknowledged: 0, sequence: 1, updates: [ProtonUpdate(sequence: 1, change: .checkpoint(note))], body: []).encoded()
        }
        #expect(throws: WireError.invalidValue(field: "checkpoint", reason: "empty")) { try ProtonPayload(decoding: payload(note: [])) }
        #expect(throws: WireError.invalidValue(field: "checkpoint", reason: "not UTF-8")) {
            try ProtonPayload(decoding: payload(note: [0x61, 0xc3]))
        }
        let limit = ProtonUpdate.maximumCheckpointByteCount
        #expect(throws: WireError.oversized(field: "checkpoint", limit: limit, actual: limit + 1)) {
            try ProtonPayload(decoding: payload(note: Array(repeating: 0x61, count: limit + 1)))
        }
        let largest = Array(repeating: UInt8(0x61), count: limit)
        #expect(try ProtonPayload(decoding: payload(note: largest)).updates.map(\.change) == [.checkpoint(largest)])
    }
}
