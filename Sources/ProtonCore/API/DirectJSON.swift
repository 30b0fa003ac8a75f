/// JSON written straight into bytes for the two bodies that carry every message in bulk: a
/// forwarder's `DeliveryBatch` and a fetch's `Messages`. Foundation's `JSONEncoder` goes through
/// its generic containers and sorts the keys of every object; for these bodies, whose strings
/// are base64url, that was most of the encoding time of a message on its way through the
/// services (docs/performance.md).
///
/// The bytes are exactly those of a `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
/// (the services' answers): keys in sorted order, no whitespace, integers in decimal. Only
/// strings that need no escaping are written directly (printable ASCII other than `"` and
/// `\`); a value with any other string answers nil, and the caller encodes it with
/// `JSONEncoder` as before. `DirectJSONTests` compares the two byte for byte.
public protocol DirectJSONEncodable: Encodable {
    /// The JSON text, or nil if a string in it would need escaping.
    var directJSON: [UInt8]? { get }
}

struct DirectJSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A string that needs no escaping, quoted; false (nothing written) if it would need some.
    mutating func string(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            for byte in utf8 where byte < 0x20 || byte > 0x7e || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
    }

    mutating func integer(_ value: Int64) {
        var text = String(value)
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }
}

extension ServiceAPI.DeliveryBatch: DirectJSONEncodable {
    public var directJSON: [UInt8]? {
        var writer = DirectJSONWriter(capacity: 20 + deliveries.reduce(0) { $0 + $1.sealedAddress.utf8.count + $1.ciphertext.utf8.count + 36 })
        writer.raw("{\"deliveries\":[")
        for (index, delivery) in deliveries.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"ciphertext\":")
            guard writer.string(delivery.ciphertext) else { return nil }
            writer.raw(",\"sealedAddress\":")
            guard writer.string(delivery.sealedAddress) else { return nil }
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }
}

extension ServiceAPI.Messages: DirectJSONEncodable {
    public var directJSON: [UInt8]? {
        var writer = DirectJSONWriter(capacity: 16 + messages.reduce(0) { $0 + $1.ciphertext.utf8.count + 64 })
        writer.raw("{\"messages\":[")
        for (index, message) in messages.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"ciphertext\":")
            guard writer.string(message.ciphertext) else { return nil }
            writer.raw(",\"id\":")
            writer.integer(message.id)
            writer.raw(",\"receivedAt\":")
            writer.integer(message.receivedAt)
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }
}

/// The answer to every send: small, but `JSONEncoder`'s setup alone cost more than the rest of
/// the answer.
extension ServiceAPI.SendStatus: DirectJSONEncodable {
    public var directJSON: [UInt8]? {
        var writer = DirectJSONWriter(capacity: 96 + (error?.utf8.count ?? 0))
        writer.raw("{\"attempts\":")
        writer.integer(Int64(attempts))
        if let error {
            writer.raw(",\"error\":")
            guard writer.string(error) else { return nil }
        }
        writer.raw(",\"id\":")
        guard writer.string(id) else { return nil }
        if let outcome {
            writer.raw(",\"outcome\":")
            guard writer.string(outcome.rawValue) else { return nil }
        }
        writer.raw(",\"state\":")
        guard writer.string(state.rawValue) else { return nil }
        writer.raw("}")
        return writer.bytes
    }
}
