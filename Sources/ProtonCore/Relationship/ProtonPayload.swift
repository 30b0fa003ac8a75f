/// The plaintext inside every ratchet message: the cumulative acknowledgement of the peer's
/// updates, the sender's message sequence, notices, our unacknowledged updates, and the body.
struct ProtonPayload: Equatable {
    static let maximumUpdates = 32
    /// Version 2 adds `sequence` and `notices`.
    static let version: UInt8 = 2

    /// Notices about the relationship itself, one bit each.
    struct Notices: OptionSet, Equatable {
        let rawValue: UInt8
        /// "A message of yours arrived at a ratchet position already used: you are sending from
        /// an old copy of your state."
        static let staleSenderState = Notices(rawValue: 1)
        static let known: Notices = [.staleSenderState]
    }

    /// The highest sequence number of the peer's updates that we have applied (0: none).
    var acknowledged: UInt64
    /// This message's number among all the sender's messages in the relationship, from 1.
    var sequence: UInt64
    var notices: Notices
    var updates: [ProtonUpdate]
    var body: [UInt8]

    func encoded() -> [UInt8] {
        var writer = WireWriter(format: .protonPayload, version: Self.version, capacity: 32 + body.count + updates.count * 64)
        writer.uint64(acknowledged)
        writer.uint64(sequence)
        writer.byte(notices.rawValue)
        writer.byte(UInt8(updates.count))
        for update in updates { update.encode(into: &writer) }
        writer.long(body)
        return writer.bytes
    }

    init(acknowledged: UInt64, sequence: UInt64, notices: Notices = [], updates: [ProtonUpdate], body: [UInt8]) {
        self.acknowledged = acknowledged
        self.sequence = sequence
        self.notices = notices
        self.updates = updates
        self.body = body
    }

    /// The largest payload read: what a classical chain of an earlier version could carry
    /// (65,535 bytes). One written is at most `DoubleRatchet.maximumPlaintextByteCount`.
    static let maximumReadByteCount = DoubleRatchet.paddingBuckets.last! - 1

    init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(
            bytes, format: .protonPayload, maximumSize: Self.maximumReadByteCount, versions: Self.version...Self.version)
        acknowledged = try reader.uint64("acknowledgement")
        sequence = try reader.uint64("sequence")
        guard sequence > 0 else { throw .invalidValue(field: "sequence", reason: "must start at 1") }
        notices = Notices(rawValue: try reader.byte("notices"))
        guard Notices.known.isSuperset(of: notices) else { throw .invalidValue(field: "notices", reason: "unknown notice") }
        let count = Int(try reader.byte("update count"))
        guard count <= Self.maximumUpdates else {
            throw .oversized(field: "updates", limit: Self.maximumUpdates, actual: count)
        }
        updates = []
        for _ in 0..<count { updates.append(try ProtonUpdate.decode(from: &reader)) }
        // A sender has one checkpoint in flight at a time (`Proton.offerCheckpoint`).
        guard updates.count(where: { if case .checkpoint = $0.change { true } else { false } }) <= 1 else {
            throw .invalidValue(field: "updates", reason: "more than one checkpoint")
        }
        body = try reader.long("body", limit: Self.maximumReadByteCount)
        try reader.finish()
    }

    /// The bytes the payload adds around a body with these updates.
    static func overhead(updates: [ProtonUpdate]) -> Int {
        ProtonPayload(acknowledged: 0, sequence: 1, updates: updates, body: []).encoded().count
    }
}
