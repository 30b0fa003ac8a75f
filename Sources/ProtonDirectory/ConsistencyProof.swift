/// A Merkle consistency proof (RFC 9162 section 2.1.4): the hashes that show the tree of
/// `firstSize` leaves is a prefix of the tree of `secondSize` leaves — that the log only
/// appended. Ordered as PROOF(m, D[n]) of section 2.1.4.1 lists them.
public struct ConsistencyProof: Sendable, Equatable {
    public let firstSize: UInt64
    public let secondSize: UInt64
    public let hashes: [[UInt8]]

    public init(firstSize: UInt64, secondSize: UInt64, hashes: [[UInt8]]) {
        self.firstSize = firstSize
        self.secondSize = secondSize
        self.hashes = hashes
    }

    /// The number of hashes a valid proof between these sizes has (0 when the first tree is
    /// empty or both sizes are equal). As for inclusion: the path of leaf firstSize - 1 in the
    /// second tree, less the levels below the first tree's right-most complete subtree, plus
    /// that subtree's root unless it is the whole first tree. Checked against every generated
    /// proof for trees of up to 1,000 leaves.
    public static func expectedLength(firstSize: UInt64, secondSize: UInt64) -> Int {
        guard firstSize > 0, firstSize < secondSize else { return 0 }
        let index = firstSize - 1
        let inner = 64 - (index ^ (secondSize - 1)).leadingZeroBitCount
        let border = inner >= 64 ? 0 : (index >> UInt64(inner)).nonzeroBitCount
        let shift = firstSize.trailingZeroBitCount
        let seed = firstSize.nonzeroBitCount == 1 ? 0 : 1
        return seed + (inner - shift) + border
    }

    /// Verifies that the tree of `firstSize` leaves with root `firstRoot` is a prefix of the
    /// tree of `secondSize` leaves with root `secondRoot`.
    ///
    /// For 0 < firstSize < secondSize this is RFC 9162 section 2.1.4.2, step by step. The two
    /// cases that algorithm leaves out follow from section 2.1.4.1: equal sizes need an empty
    /// proof and equal roots (PROOF(n, D[n]) is empty); an empty first tree needs an empty proof
    /// and the empty tree's root (the empty tree is a prefix of every tree).
    public func verify(firstRoot: [UInt8], secondRoot: [UInt8]) throws(ProofError) {
        guard firstSize <= secondSize else { throw .sizesOutOfOrder(first: firstSize, second: secondSize) }
        guard secondSize <= Merkle.maximumTreeSize else {
            throw .treeSizeTooLarge(limit: Merkle.maximumTreeSize, actual: secondSize)
        }
        guard hashes.count <= Merkle.maximumProofLength else {
            throw .proofTooLong(limit: Merkle.maximumProofLength, actual: hashes.count)
        }
        guard firstRoot.count == Merkle.hashByteCount else {
            throw .invalidHashLength(field: "first root hash", actual: firstRoot.count)
        }
        guard secondRoot.count == Merkle.hashByteCount else {
            throw .invalidHashLength(field: "second root hash", actual: secondRoot.count)
        }
        for (position, hash) in hashes.enumerated() where hash.count != Merkle.hashByteCount {
            throw .invalidHashLength(field: "proof hash \(position)", actual: hash.count)
        }
        let expected = Self.expectedLength(firstSize: firstSize, secondSize: secondSize)
        guard hashes.count == expected else { throw .wrongProofLength(expected: expected, actual: hashes.count) }

        if firstSize == 0 {
            guard firstRoot == Merkle.emptyRoot else { throw .firstRootMismatch }
            return
        }
        if firstSize == secondSize {
            guard firstRoot == secondRoot else { throw .secondRootMismatch }
            return
        }

        // Step 1: "If consistency_path is an empty array, stop and fail the proof verification."
        guard !hashes.isEmpty else { throw .wrongProofLength(expected: expected, actual: 0) }
        var path = hashes
        // Step 2: "If first is an exact power of 2, then prepend first_hash to the
        // consistency_path array."
        if firstSize.nonzeroBitCount == 1 { path.insert(firstRoot, at: 0) }
        // Step 3: "Set fn to first - 1 and sn to second - 1."
        var fn = firstSize - 1
        var sn = secondSize - 1
        // Step 4: "If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is
        // not set."
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // Step 5: "Set both fr and sr to the first value in the consistency_path array."
        var fr = path[0]
        var sr = path[0]
        // Step 6: for each subsequent value c in the consistency_path array:
        for c in path.dropFirst() {
            // "If sn is 0, then stop the iteration and fail the proof verification."
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: hashes.count) }
            // "If LSB(fn) is set, or if fn is equal to sn, then:"
            if fn & 1 == 1 || fn == sn {
                // 1. "Set fr to HASH(0x01 || c || fr)." 2. "Set sr to HASH(0x01 || c || sr)."
                fr = Merkle.nodeHash(c, fr)
                sr = Merkle.nodeHash(c, sr)
                // 3. "If LSB(fn) is not set, then right-shift both fn and sn equally until
                //    either LSB(fn) is set or fn is 0."
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                // "Otherwise: Set sr to HASH(0x01 || sr || c)."
                sr = Merkle.nodeHash(sr, c)
            }
            // "Finally, right-shift both fn and sn one time."
            fn >>= 1
            sn >>= 1
        }
        // Step 7: "verify that the fr calculated is equal to the first_hash supplied, that the sr
        // calculated is equal to the second_hash supplied, and that sn is 0."
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: hashes.count) }
        guard fr == firstRoot else { throw .firstRootMismatch }
        guard sr == secondRoot else { throw .secondRootMismatch }
    }
}
