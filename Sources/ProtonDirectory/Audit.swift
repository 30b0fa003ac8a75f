/// The decision a client makes when a directory shows it a new checkpoint: does the new tree
/// extend the one it saw before? Pure: both checkpoints must already be verified signed notes
/// from the pinned key (`SignedCheckpoint(verifying:verifier:)`); the proof is untrusted.
public enum Audit {
    public enum Result: Sendable, Equatable {
        /// Same size and same root as before.
        case unchanged
        /// The new tree is larger and the consistency proof shows it extends the old one
        /// (RFC 9162 section 2.1.4.2). The new checkpoint should replace the stored one.
        case consistent(from: UInt64, to: UInt64)
        /// The directory signed two trees that cannot both be its one log.
        case fork(Fork)
        /// The new checkpoint is of a smaller tree: the log presents an older state (or a
        /// different history). Keep the stored checkpoint.
        case rollback(storedSize: UInt64, newSize: UInt64)
        /// The checkpoints are of different logs; nothing can be compared.
        case differentLog(stored: String, new: String)

        /// True only for `unchanged` and `consistent`: the new checkpoint may be stored.
        public var isConsistent: Bool {
            switch self {
            case .unchanged, .consistent: true
            case .fork, .rollback, .differentLog: false
            }
        }
    }

    public enum Fork: Sendable, Equatable {
        /// Two signed checkpoints of one size with different roots: proof of a fork on its own.
        case sameSizeDifferentRoots(size: UInt64, stored: [UInt8], new: [UInt8])
        /// The log did not prove the larger tree extends the smaller one.
        case inconsistent(from: UInt64, to: UInt64, ProofError)
    }

    /// Compares the stored checkpoint with a new one; `proof` is the consistency proof the
    /// directory served from `stored.size` to `new.size` (empty when the sizes are equal).
    public static func check(stored: Checkpoint, new: Checkpoint, proof: [[UInt8]]) -> Result {
        guard stored.origin == new.origin else { return .differentLog(stored: stored.origin, new: new.origin) }
        if new.size < stored.size { return .rollback(storedSize: stored.size, newSize: new.size) }
        if new.size == stored.size {
            return new.rootHash == stored.rootHash
                ? .unchanged : .fork(.sameSizeDifferentRoots(size: new.size, stored: stored.rootHash, new: new.rootHash))
        }
        let consistency = ConsistencyProof(firstSize: stored.size, secondSize: new.size, hashes: proof)
        do {
            try consistency.verify(firstRoot: stored.rootHash, secondRoot: new.rootHash)
        } catch {
            return .fork(.inconsistent(from: stored.size, to: new.size, error))
        }
        return .consistent(from: stored.size, to: new.size)
    }
}
