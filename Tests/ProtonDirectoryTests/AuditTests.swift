import Foundation
import Testing

@testable import ProtonDirectory

/// The audit decision: a log that only appends passes; a fork (two roots for one size, or a
/// new tree that does not extend the old one), a rollback and a different log are caught.
struct AuditTests {
    static let origin = TestKeys.directoryName

    static func log(_ count: Int, divergingAt diverge: Int? = nil) throws -> InMemoryTransparencyLog {
        let log = InMemoryTransparencyLog()
        for index in 0..<count {
            let text = index == diverge ? "rewritten \(index)" : "leaf \(index)"
            try log.append(Array(text.utf8))
        }
        return log
    }

    static func checkpoint(_ log: some TransparencyLog, size: UInt64) throws -> Checkpoint {
        try Checkpoint(origin: origin, size: size, rootHash: log.root(size: size))
    }

    @Test func anAppendOnlyLogIsConsistent() throws {
        let log = try Self.log(20)
        for (from, to) in [(0, 20), (1, 20), (10, 20), (19, 20), (7, 13)] as [(UInt64, UInt64)] {
            let result = Audit.check(
                stored: try Self.checkpoint(log, size: from), new: try Self.checkpoint(log, size: to),
                proof: try log.consistencyProof(from: from, to: to).hashes)
            #expect(result == .consistent(from: from, to: to))
            #expect(result.isConsistent)
        }
        let same = try Self.checkpoint(log, size: 20)
        #expect(Audit.check(stored: same, new: same, proof: []) == .unchanged)
    }

    @Test func twoRootsForOneSizeAreAFork() throws {
        let honest = try Self.log(10)
        let forked = try Self.log(10, divergingAt: 3)
        let stored = try Self.checkpoint(honest, size: 10)
        let new = try Self.checkpoint(forked, size: 10)
        let result = Audit.check(stored: stored, new: new, proof: [])
        #expect(result == .fork(.sameSizeDifferentRoots(size: 10, stored: stored.rootHash, new: new.rootHash)))
        #expect(!result.isConsistent)
    }

    @Test func aLargerTreeThatRewroteHistoryIsAFork() throws {
        let honest = try Self.log(10)
        let forked = try Self.log(20, divergingAt: 3)
        let stored = try Self.checkpoint(honest, size: 10)
        let new = try Self.checkpoint(forked, size: 20)
        // The forked log's own proof from its size 10 cannot connect to the honest root.
        let proof = try forked.consistencyProof(from: 10, to: 20).hashes
        #expect(Audit.check(stored: stored, new: new, proof: proof) == .fork(.inconsistent(from: 10, to: 20, .firstRootMismatch)))
        // Nor can the honest log's proof lead to the forked root.
        let honestLonger = try Self.log(20)
        let honestProof = try honestLonger.consistencyProof(from: 10, to: 20).hashes
        #expect(Audit.check(stored: stored, new: new, proof: honestProof) == .fork(.inconsistent(from: 10, to: 20, .secondRootMismatch)))
        // A truncated or missing proof does not pass either.
        #expect(Audit.check(stored: stored, new: new, proof: Array(proof.dropLast())) == .fork(.inconsistent(from: 10, to: 20, .wrongProofLength(expected: proof.count, actual: proof.count - 1))))
        #expect(!Audit.check(stored: stored, new: new, proof: []).isConsistent)
    }

    @Test func aSmallerTreeIsARollback() throws {
        let log = try Self.log(20)
        let result = Audit.check(stored: try Self.checkpoint(log, size: 20), new: try Self.checkpoint(log, size: 12), proof: [])
        #expect(result == .rollback(storedSize: 20, newSize: 12))
        #expect(!result.isConsistent)
    }

    @Test func anotherLogIsNotCompared() throws {
        let log = try Self.log(5)
        let other = try Checkpoint(origin: "other.example", size: 5, rootHash: log.root(size: 5))
        #expect(Audit.check(stored: try Self.checkpoint(log, size: 5), new: other, proof: []) == .differentLog(stored: Self.origin, new: "other.example"))
    }

    /// The whole flow a client runs: verify both signed notes, then audit.
    @Test func signedCheckpointsFromAForkingDirectoryAreCaught() throws {
        let key = TestKeys.directory
        let honest = try Self.log(8)
        let forked = try Self.log(8, divergingAt: 7)
        let first = try key.sign(honest.checkpoint(origin: key.name)).serialized
        let second = try key.sign(forked.checkpoint(origin: key.name)).serialized
        let stored = try SignedCheckpoint(verifying: first, verifier: key.verifier).checkpoint
        let new = try SignedCheckpoint(verifying: second, verifier: key.verifier).checkpoint
        guard case .fork(.sameSizeDifferentRoots) = Audit.check(stored: stored, new: new, proof: []) else {
            Issue.record("a fork went unnoticed")
            return
        }
    }
}
