import Foundation
import ProtonTestSupport
import GRDB
import Testing

@testable import ProtonDirectory

/// The SQLite log answers exactly as the in-memory one (which the exhaustive tests check
/// against RFC 9162): every root, every inclusion and consistency proof for sizes up to 200,
/// random pairs up to 1,000, after appends in batches of random sizes across transactions.
struct SQLiteLogTests {
    static func makeLog() throws -> (SQLiteTransparencyLog, URL) {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("log.sqlite").path
        return (try SQLiteTransparencyLog(path: path), directory)
    }

    @Test func answersLikeTheInMemoryLogAfterBatchedAppends() throws {
        let (log, directory) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reference = ExhaustiveProofTests.fixture
        var random = SplitMix64(seed: 2026)
        var next = 0
        while next < ExhaustiveProofTests.maximumSize {
            let count = min(Int.random(in: 1...37, using: &random), ExhaustiveProofTests.maximumSize - next)
            let first = try log.append(Array(reference.leaves[next..<next + count]))
            #expect(first == UInt64(next))
            next += count
            #expect(try log.size() == UInt64(next))
            #expect(try log.root(size: UInt64(next)) == reference.roots[next])
        }
        for size in 0...ExhaustiveProofTests.maximumSize {
            #expect(try log.root(size: UInt64(size)) == reference.roots[size], "size \(size)")
        }
        for size in 1...200 {
            let n = UInt64(size)
            for index in 0..<n {
                #expect(try log.inclusionProof(index: index, size: n) == reference.log.inclusionProof(index: index, size: n))
            }
            for first in 0...n {
                #expect(try log.consistencyProof(from: first, to: n) == reference.log.consistencyProof(from: first, to: n))
            }
        }
        for _ in 0..<2_000 {
            let n = UInt64.random(in: 1...UInt64(ExhaustiveProofTests.maximumSize), using: &random)
            let index = UInt64.random(in: 0..<n, using: &random)
            let first = UInt64.random(in: 0...n, using: &random)
            let inclusion = try log.inclusionProof(index: index, size: n)
            #expect(inclusion == (try reference.log.inclusionProof(index: index, size: n)))
            try inclusion.verify(leafHash: reference.leafHashes[Int(index)], root: reference.roots[Int(n)])
            let consistency = try log.consistencyProof(from: first, to: n)
            #expect(consistency == (try reference.log.consistencyProof(from: first, to: n)))
            try consistency.verify(firstRoot: reference.roots[Int(first)], secondRoot: reference.roots[Int(n)])
        }
        #expect(try log.leaf(at: 999) == reference.leaves[999])
    }

    @Test func survivesReopeningAndKeepsAppending() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("log.sqlite").path
        let reference = ExhaustiveProofTests.fixture
        do {
            let log = try SQLiteTransparencyLog(path: path)
            try log.append(Array(reference.leaves[0..<77]))
        }
        let reopened = try SQLiteTransparencyLog(path: path)
        #expect(try reopened.size() == 77)
        try reopened.append(Array(reference.leaves[77..<300]))
        #expect(try reopened.root(size: 300) == reference.roots[300])
        #expect(try reopened.checkpoint(origin: "log.example").rootHash == reference.roots[300])
        #expect(try reopened.consistencyProof(from: 77, to: 300) == reference.log.consistencyProof(from: 77, to: 300))
    }

    @Test func appendBuildingGivesTheIndexTheFirstLeafGets() throws {
        for log in [try Self.makeLog().0 as any TransparencyLog, InMemoryTransparencyLog()] {
            try log.append([[1], [2], [3]])
            let first = try log.append(building: { index in [Array("leaf at \(index)".utf8), Array("leaf at \(index + 1)".utf8)] })
            #expect(first == 3)
            #expect(try log.leaf(at: 4) == Array("leaf at 4".utf8))
        }
    }

    /// Concurrent appenders each get the index they build for: every leaf names its own
    /// position, and the tree is the tree of those leaves in index order.
    @Test func concurrentAppendsGetTheIndicesTheyBuiltFor() async throws {
        let (sqlite, directory) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(at: directory) }
        for log in [sqlite as any TransparencyLog, InMemoryTransparencyLog()] {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<25 {
                            try log.append(building: { index in [Array("leaf at \(index)".utf8), Array("leaf at \(index + 1)".utf8)] })
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try log.size() == 200)
            let expected = (0..<200).map { Array("leaf at \($0)".utf8) }
            for index in 0..<200 { #expect(try log.leaf(at: UInt64(index)) == expected[index]) }
            #expect(try log.root(size: 200) == Merkle.root(ofLeaves: expected))
        }
    }

    @Test func aFailedAppendLeavesTheLogAsItWas() throws {
        struct Refused: Error {}
        let (sqlite, directory) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(at: directory) }
        for log in [sqlite as any TransparencyLog, InMemoryTransparencyLog()] {
            try log.append([[1], [2], [3]])
            let root = try log.root(size: 3)
            #expect(throws: Refused.self) { try log.append(building: { _ in throw Refused() }) }
            let oversized = [UInt8](repeating: 0, count: TransparencyLogLimits.maximumLeafByteCount + 1)
            #expect(throws: TransparencyLogError.leafTooLarge(limit: TransparencyLogLimits.maximumLeafByteCount, actual: oversized.count)) {
                try log.append([[4], oversized])
            }
            #expect(try log.size() == 3)
            #expect(try log.root(size: 3) == root)
            try log.append([4])
            #expect(try log.root(size: 4) == Merkle.root(ofLeaves: [[1], [2], [3], [4]]))
        }
    }

    @Test func refusesRequestsBeyondTheLog() throws {
        let (sqlite, directory) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(at: directory) }
        for log in [sqlite as any TransparencyLog, InMemoryTransparencyLog()] {
            try log.append([[1], [2], [3]])
            #expect(throws: TransparencyLogError.sizeBeyondLog(requested: 4, size: 3)) { try log.root(size: 4) }
            #expect(throws: TransparencyLogError.indexOutOfRange(index: 3, size: 3)) { try log.inclusionProof(index: 3, size: 3) }
            #expect(throws: TransparencyLogError.sizeBeyondLog(requested: 5, size: 3)) { try log.inclusionProof(index: 0, size: 5) }
            #expect(throws: TransparencyLogError.sizesOutOfOrder(from: 3, to: 2)) { try log.consistencyProof(from: 3, to: 2) }
            #expect(throws: TransparencyLogError.sizeBeyondLog(requested: 9, size: 3)) { try log.consistencyProof(from: 1, to: 9) }
            #expect(throws: TransparencyLogError.indexOutOfRange(index: 7, size: 3)) { try log.leaf(at: 7) }
        }
    }

    @Test func damagedStorageIsReportedNotAnsweredWrongly() throws {
        let (log, directory) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(at: directory) }
        try log.append([[1], [2], [3], [4]])
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("log.sqlite").path)
        try queue.write { db in try db.execute(sql: "DELETE FROM node WHERE level = 2") }
        #expect(throws: TransparencyLogError.self) { try log.root(size: 4) }
    }
}
