/// The few field shapes inside pairing frames: fixed-size fields and fields with a 2-byte
/// big-endian length. ProtonCore's wire reader is internal to it, and the frames need only
/// this much, refusing truncation, oversized fields and trailing bytes the same way.
struct PairingPayloadWriter {
    private(set) var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func medium(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt16.max))
        bytes += [UInt8(value.count >> 8), UInt8(value.count & 0xff)] + value
    }

    /// An optional field: a presence byte, then the field.
    mutating func optionalMedium(_ value: [UInt8]?) {
        if let value {
            byte(1)
            medium(value)
        } else {
            byte(0)
        }
    }
}

struct PairingPayloadReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func fixed(_ count: Int, _ field: String) throws(PairingError) -> [UInt8] {
        guard bytes.count - offset >= count else { throw .malformed("\(field) is cut short") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func medium(_ field: String, limit: Int) throws(PairingError) -> [UInt8] {
        let length = try fixed(2, "\(field) length")
        let count = Int(length[0]) << 8 | Int(length[1])
        guard count <= limit else { throw .malformed("\(field) of \(count) bytes is over its limit of \(limit)") }
        return try fixed(count, field)
    }

    mutating func optionalMedium(_ field: String, limit: Int) throws(PairingError) -> [UInt8]? {
        switch try fixed(1, "\(field) presence")[0] {
        case 0: return nil
        case 1: return try medium(field, limit: limit)
        default: throw .malformed("\(field) presence must be 0 or 1")
        }
    }

    func finish() throws(PairingError) {
        guard offset == bytes.count else { throw .malformed("\(bytes.count - offset) unexpected trailing bytes") }
    }
}
