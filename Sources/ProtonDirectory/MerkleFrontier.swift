/// The right edge of a Merkle tree as leaves are appended one by one (a compact range from 0):
/// the roots of its perfect subtrees, largest first, one per set bit of the size. With it a
/// monitor that reads every leaf in order checks them all against a signed root without a
/// proof per leaf (RFC 9162 section 2.1.1: MTH of n leaves splits into these subtrees).
public struct MerkleFrontier: Sendable, Equatable, Codable {
    public private(set) var size: UInt64
    /// The perfect subtrees' roots, largest (leftmost) first.
    public private(set) var hashes: [[UInt8]]

    public init() {
        size = 0
        hashes = []
    }

    /// A stored frontier: `hashes` must be one per set bit of `size`, each 32 bytes.
    public init?(size: UInt64, hashes: [[UInt8]]) {
        guard hashes.count == size.nonzeroBitCount, hashes.allSatisfy({ $0.count == Merkle.hashByteCount }) else { return nil }
        self.size = size
        self.hashes = hashes
    }

    /// Appends a leaf. Returns the complete subtrees it finishes, its own leaf hash (level 0)
    /// first: what a log that keeps every complete subtree (`CompleteSubtrees`) stores for it.
    @discardableResult
    public mutating func append(leaf: [UInt8]) -> [SubtreeHash] {
        var hash = Merkle.leafHash(leaf)
        var index = size
        var finished = [SubtreeHash(level: 0, index: index, hash: hash)]
        // Each trailing set bit is a perfect subtree of the new leaf's size that it completes.
        while index & 1 == 1 {
            hash = Merkle.nodeHash(hashes.removeLast(), hash)
            index >>= 1
            finished.append(SubtreeHash(level: finished.count, index: index, hash: hash))
        }
        hashes.append(hash)
        size += 1
        return finished
    }

    /// The frontier of a log of `size` leaves, read from where it keeps its complete subtrees:
    /// the subtree of each set bit of `size`, largest first.
    public init(size: UInt64, subtrees: some CompleteSubtrees) throws {
        var hashes: [[UInt8]] = []
        for level in (0..<64).reversed() where size & (1 << UInt64(level)) != 0 {
            hashes.append(try subtrees.completeSubtreeHash(level: level, index: (size >> UInt64(level)) - 1))
        }
        self.size = size
        self.hashes = hashes
    }

    /// Where `init(size:subtrees:)` reads.
    public static func subtrees(size: UInt64) -> [SubtreeKey] {
        (0..<64).reversed().filter { size & (1 << UInt64($0)) != 0 }.map { SubtreeKey(level: $0, index: (size >> UInt64($0)) - 1) }
    }

    /// MTH of the leaves appended so far.
    public var root: [UInt8] {
        guard var hash = hashes.last else { return Merkle.emptyRoot }
        for left in hashes.dropLast().reversed() { hash = Merkle.nodeHash(left, hash) }
        return hash
    }
}
