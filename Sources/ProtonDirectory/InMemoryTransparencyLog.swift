import Foundation

/// A transparency log in memory, for tests and for clients that rebuild a small tree. It keeps
/// every complete subtree's hash (level by level, filled as leaves are appended), so it answers
/// as the SQLite log does, with the same O(log n) lookups.
public final class InMemoryTransparencyLog: TransparencyLog, @unchecked Sendable {
    // Guarded by `lock`.
    private var leaves: [[UInt8]] = []
    private var levels = CompleteSubtreeLevels()
    private let lock = NSLock()

    public init() {}

    public func size() throws -> UInt64 {
        lock.withLock { UInt64(leaves.count) }
    }

    @discardableResult
    public func append(_ leaves: [[UInt8]]) throws -> UInt64 {
        try append(building: { _ in leaves })
    }

    @discardableResult
    public func append(building build: (UInt64) throws -> [[UInt8]]) throws -> UInt64 {
        try lock.withLock {
            let first = UInt64(leaves.count)
            let batch = try build(first)
            try LogRequest.checkLeaves(batch, size: first, maximumSize: UInt64(Int.max))
            for leaf in batch {
                levels.append(leafHash: Merkle.leafHash(leaf))
                leaves.append(leaf)
            }
            return first
        }
    }

    public func leaf(at index: UInt64) throws -> [UInt8] {
        try lock.withLock {
            guard index < UInt64(leaves.count) else { throw TransparencyLogError.indexOutOfRange(index: index, size: UInt64(leaves.count)) }
            return leaves[Int(index)]
        }
    }

    public func root(size: UInt64) throws -> [UInt8] {
        let (levels, logSize) = snapshot()
        try LogRequest.checkSize(size, logSize: logSize)
        return try levels.treeRoot(size: size)
    }

    public func inclusionProof(index: UInt64, size: UInt64) throws -> InclusionProof {
        let (levels, logSize) = snapshot()
        try LogRequest.checkInclusion(index: index, size: size, logSize: logSize)
        return InclusionProof(leafIndex: index, treeSize: size, hashes: try levels.inclusionPath(leafIndex: index, treeSize: size))
    }

    public func consistencyProof(from: UInt64, to: UInt64) throws -> ConsistencyProof {
        let (levels, logSize) = snapshot()
        try LogRequest.checkConsistency(from: from, to: to, logSize: logSize)
        return ConsistencyProof(firstSize: from, secondSize: to, hashes: try levels.consistencyPath(firstSize: from, secondSize: to))
    }

    public func checkpoint(origin: String) throws -> Checkpoint {
        let (levels, logSize) = snapshot()
        return try Checkpoint(origin: origin, size: logSize, rootHash: levels.treeRoot(size: logSize))
    }

    /// The arrays are copied on write, so a snapshot stays valid while appends go on.
    private func snapshot() -> (CompleteSubtreeLevels, UInt64) {
        lock.withLock { (levels, UInt64(leaves.count)) }
    }
}

/// levels[l][i] is the hash of the complete subtree at level l, index i.
struct CompleteSubtreeLevels: CompleteSubtrees {
    private(set) var levels: [[[UInt8]]] = [[]]

    /// Adds a leaf hash and every subtree it completes: while the new node is a right child
    /// (odd index), it and its left sibling make the parent one level up.
    mutating func append(leafHash: [UInt8]) {
        var index = levels[0].count
        var hash = leafHash
        var level = 0
        levels[0].append(hash)
        while index & 1 == 1 {
            hash = Merkle.nodeHash(levels[level][index - 1], hash)
            level += 1
            index >>= 1
            if levels.count == level { levels.append([]) }
            levels[level].append(hash)
        }
    }

    func completeSubtreeHash(level: Int, index: UInt64) throws -> [UInt8] {
        guard level < levels.count, index < UInt64(levels[level].count) else {
            throw TransparencyLogError.corrupted("no subtree at level \(level), index \(index)")
        }
        return levels[level][Int(index)]
    }
}
