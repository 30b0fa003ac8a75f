import Foundation

/// JSON written straight into bytes for the two bodies that carry every message in bulk (a
/// forwarder's `DeliveryBatch` and a fetch's `Messages`) and for the answer to every send
/// (`SendStatus`). Foundation's `JSONEncoder` goes through its generic containers and sorts the
/// keys of every object; for these bodies, whose strings are base64url, that was most of the
/// encoding time of a message on its way through the services (docs/performance.md). Reading
/// is below (`DirectJSONDecodable`).
///
/// The bytes are exactly those of `ServiceJSON.encoder` (Foundation's, sorted keys, slashes
/// unescaped), through which the services write every answer: keys in sorted order, no whitespace, integers in decimal. Only
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

// MARK: Reading

/// Bodies read straight from their bytes when they have the plain shape clients send (each
/// expected key once, no other key, strings of printable ASCII with no escape but `\/`, integers
/// without fraction or exponent); anything else is left to `JSONDecoder`, which then decides,
/// with its own errors, exactly as before. So the reader never accepts what `JSONDecoder` would
/// refuse, and never reads a value differently: `DirectJSONTests` checks this on mutated bodies,
/// and the `direct-json` fuzz target on whatever libFuzzer makes.
public protocol DirectJSONDecodable: Decodable {
    /// The value, or nil if the body is not of the plain shape.
    init?(directJSON reader: inout DirectJSONReader)
}

extension DirectJSONDecodable {
    /// The value if `bytes` have the plain shape (a whole body: nothing but whitespace after
    /// it), else nil.
    public static func directJSON(_ bytes: [UInt8]) -> Self? {
        bytes.withUnsafeBufferPointer { buffer -> Self? in
            var reader = DirectJSONReader(buffer)
            guard let value = Self(directJSON: &reader), reader.atEnd() else { return nil }
            return value
        }
    }
}

/// The services' JSON, one path for every body: read and written directly where the body type
/// can be (`DirectJSONDecodable`, `DirectJSONEncodable`) and has the plain shape, with
/// Foundation otherwise, exactly as before.
public enum ServiceJSON {
    /// Foundation's encoder as the services write: sorted keys (answers are byte-stable, which
    /// keeps tests and caches simple), slashes as they are. The direct writer's bytes are this
    /// encoder's.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        if let direct = (value as? any DirectJSONEncodable)?.directJSON { return direct }
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let direct = T.self as? any DirectJSONDecodable.Type, let value = direct.directJSON(bytes) as? T { return value }
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    }
}

public struct DirectJSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09 {
            index += 1
        }
    }

    /// Consumes `byte` after any whitespace.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Nothing but whitespace left.
    mutating func atEnd() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }

    /// A string of printable ASCII other than `"` and `\`, where `/` may be escaped as `\/`
    /// (as `JSONEncoder` writes it by default).
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var slashes = false
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") else { return nil }
                slashes = true
                index += 2
                continue
            }
            guard byte >= 0x20, byte <= 0x7e else { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        index += 1
        guard slashes else { return String(decoding: text, as: UTF8.self) }
        var unescaped = [UInt8]()
        unescaped.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == UInt8(ascii: "\\") { i += 1 }
            unescaped.append(text[i])
            i += 1
        }
        return String(decoding: unescaped, as: UTF8.self)
    }

    /// A key (a plain string) that is one of `keys`: its index.
    private mutating func key(_ keys: [StaticString]) -> Int? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        index += 1
        return keys.firstIndex { key in key.withUTF8Buffer { $0.elementsEqual(text) } }
    }

    /// An integer as JSON writes one (`-?(0|[1-9][0-9]*)`), not followed by a fraction or an
    /// exponent, within Int64.
    mutating func integer() -> Int64? {
        skipWhitespace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let start = index
        var magnitude: UInt64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (plus, overflow2) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = plus
            index += 1
        }
        let digits = index - start
        guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// An object whose keys are exactly `keys`, each once, in any order; `value` reads the
    /// value of the key at the index given. False if anything differs.
    mutating func object(keys: [StaticString], value: (inout DirectJSONReader, Int) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = 0 as UInt64
        for position in 0..<keys.count {
            if position > 0, !take(UInt8(ascii: ",")) { return false }
            guard let which = key(keys), seen & (1 << which) == 0, take(UInt8(ascii: ":")) else { return false }
            seen |= 1 << which
            guard value(&self, which) else { return false }
        }
        return take(UInt8(ascii: "}"))
    }

    /// An object with one key, `key`, whose value is an array of `element`s.
    mutating func arrayObject<Element>(key: StaticString, _ element: (inout DirectJSONReader) -> Element?) -> [Element]? {
        var elements: [Element]?
        guard
            object(
                keys: [key],
                value: { reader, _ in
                    elements = reader.array(element)
                    return elements != nil
                })
        else { return nil }
        return elements
    }

    /// An array of `element`s, empty or not.
    mutating func array<Element>(_ element: (inout DirectJSONReader) -> Element?) -> [Element]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var elements: [Element] = []
        if take(UInt8(ascii: "]")) { return elements }
        repeat {
            guard let next = element(&self) else { return nil }
            elements.append(next)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? elements : nil
    }
}

extension ServiceAPI.Send: DirectJSONDecodable {
    public init?(directJSON reader: inout DirectJSONReader) {
        var fields = [String?](repeating: nil, count: 4)
        guard
            reader.object(
                keys: ["receivingService", "serviceKey", "sealedAddress", "ciphertext"],
                value: { reader, which in
                    fields[which] = reader.string()
                    return fields[which] != nil
                }), let receivingService = fields[0], let serviceKey = fields[1], let sealedAddress = fields[2], let ciphertext = fields[3]
        else { return nil }
        self.init(receivingService: receivingService, serviceKey: serviceKey, sealedAddress: sealedAddress, ciphertext: ciphertext)
    }
}

extension ServiceAPI.Delivery: DirectJSONDecodable {
    public init?(directJSON reader: inout DirectJSONReader) {
        var fields = [String?](repeating: nil, count: 2)
        guard
            reader.object(
                keys: ["sealedAddress", "ciphertext"],
                value: { reader, which in
                    fields[which] = reader.string()
                    return fields[which] != nil
                }), let sealedAddress = fields[0], let ciphertext = fields[1]
        else { return nil }
        self.init(sealedAddress: sealedAddress, ciphertext: ciphertext)
    }
}

extension ServiceAPI.DeliveryBatch: DirectJSONDecodable {
    public init?(directJSON reader: inout DirectJSONReader) {
        guard let deliveries = reader.arrayObject(key: "deliveries", ServiceAPI.Delivery.init(directJSON:)) else { return nil }
        self.init(deliveries: deliveries)
    }
}

extension ServiceAPI.StoredMessage: DirectJSONDecodable {
    public init?(directJSON reader: inout DirectJSONReader) {
        var id: Int64?
        var ciphertext: String?
        var receivedAt: Int64?
        guard
            reader.object(
                keys: ["id", "ciphertext", "receivedAt"],
                value: { reader, which in
                    switch which {
                    case 0: id = reader.integer(); return id != nil
                    case 1: ciphertext = reader.string(); return ciphertext != nil
                    default: receivedAt = reader.integer(); return receivedAt != nil
                    }
                }), let id, let ciphertext, let receivedAt
        else { return nil }
        self.init(id: id, ciphertext: ciphertext, receivedAt: receivedAt)
    }
}

extension ServiceAPI.Messages: DirectJSONDecodable {
    public init?(directJSON reader: inout DirectJSONReader) {
        guard let messages = reader.arrayObject(key: "messages", ServiceAPI.StoredMessage.init(directJSON:)) else { return nil }
        self.init(messages: messages)
    }
}
