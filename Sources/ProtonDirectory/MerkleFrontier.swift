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

    public mutating func append(leaf: [UInt8]) {
        var hash = Merkle.leafHash(leaf)
        var remaining = size
        // Each trailing set bit is a perfect subtree of the new leaf's size that it completes.
        while remaining & 1 == 1 {
            hash = Merkle.nodeHash(hashes.removeLast(), hash)
            remaining >>= 1
        }
        hashes.append(hash)
        size += 1
    }

    /// MTH of the leaves appended so far.
    public var root: [UInt8] {
        guard var hash = hashes.last else { return Merkle.emptyRoot }
        for left in hashes.dropLast().reversed() { hash = Merkle.nodeHash(left, hash) }
        return hash
    }
}
