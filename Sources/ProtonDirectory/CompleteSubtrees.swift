/// Where a log keeps the hashes of its complete subtrees: the subtree at `level` and `index`
/// covers leaves [index · 2^level, (index + 1) · 2^level), and level 0 holds the leaf hashes.
/// A log that stores these as leaves are appended answers any root and proof below with
/// O(log n) lookups, since every range RFC 9162's recursions visit splits into at most
/// 64 complete subtrees.
public protocol CompleteSubtrees {
    func completeSubtreeHash(level: Int, index: UInt64) throws -> [UInt8]
}

extension CompleteSubtrees {
    /// MTH(D[start:end]) for a range whose start is a multiple of the smallest power of two not
    /// below its width — every range the recursions of RFC 9162 sections 2.1.1, 2.1.3.1 and
    /// 2.1.4.1 produce, starting from D[0:n], is one. A complete aligned subtree is one lookup;
    /// otherwise the range splits at k, the largest power of two below its width (section 2.1.1).
    func rangeHash(start: UInt64, end: UInt64) throws -> [UInt8] {
        let width = end - start
        if width == 0 { return Merkle.emptyRoot }
        if width.nonzeroBitCount == 1 {
            let level = width.trailingZeroBitCount
            precondition(start % width == 0, "an RFC 9162 range is aligned")
            return try completeSubtreeHash(level: level, index: start >> UInt64(level))
        }
        let k = Merkle.splitPoint(width)
        return Merkle.nodeHash(try rangeHash(start: start, end: start + k), try rangeHash(start: start + k, end: end))
    }

    /// MTH(D[n]) (section 2.1.1).
    public func treeRoot(size: UInt64) throws -> [UInt8] {
        try rangeHash(start: 0, end: size)
    }

    /// PATH(m, D[n]) of RFC 9162 section 2.1.3.1, for 0 ≤ m < n.
    public func inclusionPath(leafIndex: UInt64, treeSize: UInt64) throws -> [[UInt8]] {
        guard leafIndex < treeSize else { throw TransparencyLogError.indexOutOfRange(index: leafIndex, size: treeSize) }
        var path = [[UInt8]]()
        path.reserveCapacity(64)
        try appendPath(m: leafIndex, start: 0, end: treeSize, into: &path)
        return path
    }

    /// PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, and
    /// PATH(m - k, D[k:n]) : MTH(D[0:k]) for m ≥ k; PATH(0, {d(0)}) = {} (section 2.1.3.1).
    private func appendPath(m: UInt64, start: UInt64, end: UInt64, into path: inout [[UInt8]]) throws {
        let n = end - start
        guard n > 1 else { return }
        let k = Merkle.splitPoint(n)
        if m < k {
            try appendPath(m: m, start: start, end: start + k, into: &path)
            path.append(try rangeHash(start: start + k, end: end))
        } else {
            try appendPath(m: m - k, start: start + k, end: end, into: &path)
            path.append(try rangeHash(start: start, end: start + k))
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 section 2.1.4.1, for
    /// 0 < m ≤ n; empty for m = n, and (outside the RFC's 0 < m) for m = 0.
    public func consistencyPath(firstSize: UInt64, secondSize: UInt64) throws -> [[UInt8]] {
        guard firstSize <= secondSize else { throw TransparencyLogError.sizesOutOfOrder(from: firstSize, to: secondSize) }
        var path = [[UInt8]]()
        guard firstSize > 0 else { return path }
        path.reserveCapacity(64)
        try appendSubproof(m: firstSize, start: 0, end: secondSize, completeSubtree: true, into: &path)
        return path
    }

    /// SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}; for m < n,
    /// SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m ≤ k, and
    /// SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) if m > k (section 2.1.4.1).
    private func appendSubproof(
        m: UInt64, start: UInt64, end: UInt64, completeSubtree b: Bool, into path: inout [[UInt8]]
    ) throws {
        let n = end - start
        if m == n {
            if !b { path.append(try rangeHash(start: start, end: end)) }
            return
        }
        let k = Merkle.splitPoint(n)
        if m <= k {
            try appendSubproof(m: m, start: start, end: start + k, completeSubtree: b, into: &path)
            path.append(try rangeHash(start: start + k, end: end))
        } else {
            try appendSubproof(m: m - k, start: start + k, end: end, completeSubtree: false, into: &path)
            path.append(try rangeHash(start: start, end: start + k))
        }
    }
}

/// Where a complete subtree sits: it covers leaves [index · 2^level, (index + 1) · 2^level).
public struct SubtreeKey: Hashable, Sendable {
    public let level: Int
    public let index: UInt64

    public init(level: Int, index: UInt64) {
        self.level = level
        self.index = index
    }
}

/// A complete subtree's hash, as a log stores it.
public struct SubtreeHash: Equatable, Sendable {
    public let level: Int
    public let index: UInt64
    public let hash: [UInt8]

    public init(level: Int, index: UInt64, hash: [UInt8]) {
        self.level = level
        self.index = index
        self.hash = hash
    }
}

/// Complete subtrees fetched ahead, for a store that answers a whole set in one query (a
/// database across a network) rather than one lookup at a time. The recursions of RFC 9162
/// visit the same ranges whatever the hashes are, so `keys(for:)` finds what a root or a proof
/// will look up by running it over placeholders; the caller fetches those, and runs it again
/// over them.
public struct FetchedSubtrees: CompleteSubtrees {
    private let hashes: [SubtreeKey: [UInt8]]

    public init(_ hashes: [SubtreeKey: [UInt8]]) {
        self.hashes = hashes
    }

    public func completeSubtreeHash(level: Int, index: UInt64) throws -> [UInt8] {
        guard let hash = hashes[SubtreeKey(level: level, index: index)], hash.count == Merkle.hashByteCount else {
            throw TransparencyLogError.corrupted("no subtree hash at level \(level), index \(index)")
        }
        return hash
    }

    /// The subtrees `compute` reads (at most about 2·64 for a root or a proof).
    public static func keys(for compute: (any CompleteSubtrees) throws -> Void) rethrows -> Set<SubtreeKey> {
        let recorder = Recorder()
        try compute(recorder)
        return recorder.keys
    }

    private final class Recorder: CompleteSubtrees {
        var keys = Set<SubtreeKey>()

        func completeSubtreeHash(level: Int, index: UInt64) throws -> [UInt8] {
            keys.insert(SubtreeKey(level: level, index: index))
            return [UInt8](repeating: 0, count: Merkle.hashByteCount)
        }
    }
}
