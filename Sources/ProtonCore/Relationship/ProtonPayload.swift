/// The plaintext inside every ratchet message: the cumulative acknowledgement of the peer's
/// updates, our unacknowledged updates, and the message body.
struct ProtonPayload: Equatable {
    static let maximumUpdates = 32

    /// The highest sequence number of the peer's updates that we have applied (0: none).
    var acknowledged: UInt64
    var updates: [ProtonUpdate]
    var body: [UInt8]

    func encoded() -> [UInt8] {
        var writer = WireWriter(format: .protonPayload, capacity: 16 + body.count + updates.count * 64)
        writer.uint64(acknowledged)
        writer.byte(UInt8(updates.count))
        for update in updates { update.encode(into: &writer) }
        writer.long(body)
        return writer.bytes
    }

    init(acknowledged: UInt64, updates: [ProtonUpdate], body: [UInt8]) {
        self.acknowledged = acknowledged
        self.updates = updates
        self.body = body
    }

    init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .protonPayload, maximumSize: DoubleRatchet.maximumPlaintextByteCount)
        acknowledged = try reader.uint64("acknowledgement")
        let count = Int(try reader.byte("update count"))
        guard count <= Self.maximumUpdates else {
            throw .oversized(field: "updates", limit: Self.maximumUpdates, actual: count)
        }
        updates = []
        for _ in 0..<count { updates.append(try ProtonUpdate.decode(from: &reader)) }
        body = try reader.long("body", limit: DoubleRatchet.maximumPlaintextByteCount)
        try reader.finish()
    }

    /// The bytes the payload adds around a body with these updates.
    static func overhead(updates: [ProtonUpdate]) -> Int {
        ProtonPayload(acknowledged: 0, updates: updates, body: []).encoded().count
    }
}
