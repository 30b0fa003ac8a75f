/// Why an inclusion or consistency proof was refused. Proofs come from a server the client
/// does not trust, so every shape error is caught (and named) before or while hashing, and a
/// refusal never depends on anything but the inputs.
public enum ProofError: Error, Equatable, Sendable {
    /// RFC 9162 section 2.1.3.2 step 1: the leaf index is not below the tree size.
    case leafIndexOutOfRange(index: UInt64, treeSize: UInt64)
    /// A consistency proof from a larger tree to a smaller one.
    case sizesOutOfOrder(first: UInt64, second: UInt64)
    /// A tree size over `Merkle.maximumTreeSize`.
    case treeSizeTooLarge(limit: UInt64, actual: UInt64)
    /// More hashes than any tree of up to `Merkle.maximumTreeSize` leaves needs
    /// (`Merkle.maximumProofLength`).
    case proofTooLong(limit: Int, actual: Int)
    /// The number of hashes differs from what these sizes (and index) require. This is checked
    /// before the section 2.1.3.2 / 2.1.4.2 algorithms run; they would refuse the same proofs.
    case wrongProofLength(expected: Int, actual: Int)
    /// A hash (a proof element, a leaf hash or a root) is not 32 bytes.
    case invalidHashLength(field: String, actual: Int)
    /// The root computed from the proof is not the root given (inclusion).
    case rootMismatch
    /// Consistency: the root recomputed for the older tree is not its root.
    case firstRootMismatch
    /// Consistency: the root recomputed for the newer tree is not its root.
    case secondRootMismatch
}

extension ProofError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .leafIndexOutOfRange(let index, let treeSize): "leaf index \(index) is not in a tree of size \(treeSize)"
        case .sizesOutOfOrder(let first, let second): "tree size \(second) is smaller than the earlier size \(first)"
        case .treeSizeTooLarge(let limit, let actual): "a tree of \(actual) leaves is over the limit of \(limit)"
        case .proofTooLong(let limit, let actual): "the proof has \(actual) hashes, over the limit of \(limit)"
        case .wrongProofLength(let expected, let actual): "the proof has \(actual) hashes where \(expected) are needed"
        case .invalidHashLength(let field, let actual): "\(field) is \(actual) bytes, not 32"
        case .rootMismatch: "the proof does not lead to the root hash"
        case .firstRootMismatch: "the proof does not lead to the earlier root hash"
        case .secondRootMismatch: "the proof does not lead to the later root hash"
        }
    }
}
