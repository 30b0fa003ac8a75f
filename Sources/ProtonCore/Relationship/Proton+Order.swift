/// In-order presentation of the peer's messages. Each payload carries the sender's message
/// sequence (1, 2, 3, …); a message that overtook an earlier one (a resend around a slow relay,
/// a rotation, a restart) is held back until the gap fills, so that each sender's messages are
/// shown in the order sent. Holding is the store's and the agents' job, bounded in time and
/// count; this is the rule they follow.
extension Proton {
    /// Where a newly opened message stands against what was presented so far.
    public enum Arrival: Sendable, Equatable {
        /// The next in order (or the first this state knows of): present it now.
        case next
        /// Later than the next: hold it until `missing` arrives (or the hold-back ends).
        case ahead(missing: ClosedRange<UInt64>)
        /// Earlier than what was already presented: its gap was given up on; present it now,
        /// as late.
        case late
    }

    public func arrival(of sequence: UInt64) -> Arrival {
        guard let presented = presentedPeerSequence else { return .next }
        if sequence == presented + 1 { return .next }
        if sequence > presented + 1 { return .ahead(missing: (presented + 1)...(sequence - 1)) }
        return .late
    }

    /// Records that the peer's messages up to `sequence` were presented (or given up on).
    public mutating func markPresented(through sequence: UInt64) {
        presentedPeerSequence = max(presentedPeerSequence ?? 0, sequence)
    }
}
