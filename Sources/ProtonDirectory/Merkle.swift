import ProtonCrypto

/// The Merkle Tree Hash of RFC 9162 (Certificate Transparency 2.0), section 2.1.1, with
/// SHA-256 as the hash — the same tree as RFC 6962 section 2.1, so roots and proofs are
/// interchangeable with Certificate Transparency and C2SP tlog tooling.
///
/// Hashes are plain 32-byte arrays: they arrive from untrusted servers as bytes, and every
/// verifier checks their length before using them.
public enum Merkle {
    /// Every hash in the tree is SHA-256 (RFC 9162 section 2.1.1 with SHA-256, as RFC 6962).
    public static let hashByteCount = SHA256.byteCount

    /// The largest tree any verifier here accepts: 2^63 - 1 leaves (the SQLite log's index is a
    /// signed 64-bit integer). Far beyond any directory, and it bounds the proofs below.
    public static let maximumTreeSize = UInt64(Int64.max)

    /// The longest proof any verifier here will look at. In a tree of fewer than 2^63 leaves an
    /// inclusion proof has at most 63 hashes (one per level) and a consistency proof at most 64
    /// (one per level, plus the old tree's right-most subtree root; RFC 9162 sections 2.1.3.1
    /// and 2.1.4.1), so a longer proof is refused before any hashing.
    public static let maximumProofLength = 64

    /// MTH({}) = HASH(), the hash of an empty string (section 2.1.1).
    public static let emptyRoot: [UInt8] = SHA256.hash([])

    /// MTH({d(0)}) = HASH(0x00 || d(0)) (section 2.1.1): the leaf hash, domain-separated from
    /// interior nodes by its 0x00 prefix so that no leaf can pose as a node.
    public static func leafHash(_ leaf: [UInt8]) -> [UInt8] {
        var input = [UInt8]()
        input.reserveCapacity(1 + leaf.count)
        input.append(0x00)
        input.append(contentsOf: leaf)
        return SHA256.hash(input)
    }

    /// HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) (section 2.1.1): an interior node.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var input = [UInt8]()
        input.reserveCapacity(1 + left.count + right.count)
        input.append(0x01)
        input.append(contentsOf: left)
        input.append(contentsOf: right)
        return SHA256.hash(input)
    }

    /// "k is the largest power of two smaller than n (i.e., k < n <= 2k)" (section 2.1.1);
    /// n must be at least 2.
    public static func splitPoint(_ n: UInt64) -> UInt64 {
        precondition(n >= 2, "the split is defined for n > 1")
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// MTH(D[n]) computed from the leaf hashes by the recursive definition of section 2.1.1 —
    /// the reference the logs' O(log n) roots are tested against. O(n) time.
    public static func root(ofLeafHashes hashes: ArraySlice<[UInt8]>) -> [UInt8] {
        switch hashes.count {
        case 0: return emptyRoot
        case 1: return hashes[hashes.startIndex]
        default:
            let k = Int(splitPoint(UInt64(hashes.count)))
            let middle = hashes.startIndex + k
            return nodeHash(root(ofLeafHashes: hashes[..<middle]), root(ofLeafHashes: hashes[middle...]))
        }
    }

    /// MTH of the leaves themselves (each hashed with `leafHash`).
    public static func root(ofLeaves leaves: [[UInt8]]) -> [UInt8] {
        root(ofLeafHashes: leaves.map(leafHash)[...])
    }
}
