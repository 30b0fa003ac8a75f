/// An append-only Merkle log (RFC 9162 section 2.1) whose leaves are byte strings — for the
/// directory, encoded attestations. Every method that reads is answered from one consistent
/// snapshot, and every append is atomic: all of a batch's leaves land, or none.
///
/// Sizes and indices are `UInt64`; an implementation may hold fewer (the SQLite log stops at
/// `Int64.max`). The root, an inclusion proof and a consistency proof for any size up to the
/// current one are O(log n).
public protocol TransparencyLog: Sendable {
    /// The number of leaves.
    func size() throws -> UInt64

    /// Appends `leaves` in order, in one transaction; returns the index of the first.
    @discardableResult
    func append(_ leaves: [[UInt8]]) throws -> UInt64

    /// Appends leaves that must name their own index (an attestation carries its log index):
    /// `build` is called inside the append's transaction with the index the first leaf will
    /// get, so no concurrent append can take it. Returns that index. `build` must not call the
    /// log (it runs inside the log's lock or write transaction); if it throws, nothing is
    /// appended.
    @discardableResult
    func append(building build: (_ firstIndex: UInt64) throws -> [[UInt8]]) throws -> UInt64

    /// The leaf at `index`, as appended.
    func leaf(at index: UInt64) throws -> [UInt8]

    /// MTH(D[size]) (RFC 9162 section 2.1.1) for any `size` up to the current one.
    func root(size: UInt64) throws -> [UInt8]

    /// The audit path of leaf `index` in the tree of `size` leaves (section 2.1.3.1).
    func inclusionProof(index: UInt64, size: UInt64) throws -> InclusionProof

    /// The proof that the tree of `from` leaves is a prefix of the tree of `to` (section 2.1.4.1).
    func consistencyProof(from: UInt64, to: UInt64) throws -> ConsistencyProof

    /// The current size and its root, read together, as an unsigned checkpoint of `origin`.
    func checkpoint(origin: String) throws -> Checkpoint
}

/// Why a log refused a request.
public enum TransparencyLogError: Error, Equatable, Sendable {
    /// A leaf index at or beyond the tree size asked for.
    case indexOutOfRange(index: UInt64, size: UInt64)
    /// A tree size the log has not reached.
    case sizeBeyondLog(requested: UInt64, size: UInt64)
    /// A consistency proof from a larger size to a smaller one.
    case sizesOutOfOrder(from: UInt64, to: UInt64)
    /// A leaf larger than `TransparencyLogLimits.maximumLeafByteCount`.
    case leafTooLarge(limit: Int, actual: Int)
    /// More leaves in one append than `TransparencyLogLimits.maximumBatchCount`, or a log that
    /// would outgrow its index type.
    case tooManyLeaves(limit: UInt64)
    /// A hash the log must hold is missing or malformed: the storage was damaged.
    case corrupted(String)
}

extension TransparencyLogError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .indexOutOfRange(let index, let size): "leaf \(index) is not in a tree of size \(size)"
        case .sizeBeyondLog(let requested, let size): "tree size \(requested) is beyond the log's \(size) leaves"
        case .sizesOutOfOrder(let from, let to): "cannot prove size \(from) consistent with the smaller size \(to)"
        case .leafTooLarge(let limit, let actual): "a leaf of \(actual) bytes is over the limit of \(limit)"
        case .tooManyLeaves(let limit): "more leaves than the limit of \(limit)"
        case .corrupted(let detail): "the log's storage is damaged: \(detail)"
        }
    }
}

public enum TransparencyLogLimits {
    /// An attestation is under 400 bytes; a leaf 160 times that is a mistake, not data.
    public static let maximumLeafByteCount = 65_536
    /// One append's transaction stays bounded.
    public static let maximumBatchCount = 1_000_000
}

extension TransparencyLog {
    /// Appends one leaf; returns its index.
    @discardableResult
    public func append(_ leaf: [UInt8]) throws -> UInt64 { try append([leaf]) }
}

/// The checks every implementation makes before it reads, shared so they answer alike.
enum LogRequest {
    static func checkLeaves(_ leaves: [[UInt8]], size: UInt64, maximumSize: UInt64) throws(TransparencyLogError) {
        guard leaves.count <= TransparencyLogLimits.maximumBatchCount else {
            throw .tooManyLeaves(limit: UInt64(TransparencyLogLimits.maximumBatchCount))
        }
        guard UInt64(leaves.count) <= maximumSize - size else { throw .tooManyLeaves(limit: maximumSize) }
        for leaf in leaves where leaf.count > TransparencyLogLimits.maximumLeafByteCount {
            throw .leafTooLarge(limit: TransparencyLogLimits.maximumLeafByteCount, actual: leaf.count)
        }
    }

    static func checkSize(_ requested: UInt64, logSize: UInt64) throws(TransparencyLogError) {
        guard requested <= logSize else { throw .sizeBeyondLog(requested: requested, size: logSize) }
    }

    static func checkInclusion(index: UInt64, size: UInt64, logSize: UInt64) throws(TransparencyLogError) {
        try checkSize(size, logSize: logSize)
        guard index < size else { throw .indexOutOfRange(index: index, size: size) }
    }

    static func checkConsistency(from: UInt64, to: UInt64, logSize: UInt64) throws(TransparencyLogError) {
        try checkSize(to, logSize: logSize)
        guard from <= to else { throw .sizesOutOfOrder(from: from, to: to) }
    }
}
