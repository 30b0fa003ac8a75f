/// Reads the binary formats, refusing truncation, oversized fields and trailing bytes.
/// `package` so that ProtonDirectory's formats share this one codec.
package struct WireReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    /// The header's version byte.
    package let version: UInt8

    /// Opens a top-level format: checks the overall size, the tag and the version (one of
    /// `versions`, by default only the current one).
    package init(
        _ bytes: [UInt8], format: WireFormat, maximumSize: Int, versions: ClosedRange<UInt8> = WireFormat.currentVersion...WireFormat.currentVersion
    ) throws(WireError) {
        guard bytes.count <= maximumSize else {
            throw .oversized(field: "\(format)", limit: maximumSize, actual: bytes.count)
        }
        guard let tag = bytes.first else { throw .truncated(field: "format tag") }
        guard tag == format.rawValue else { throw .unexpectedFormat(expected: format, actual: tag) }
        guard bytes.count >= 2 else { throw .truncated(field: "version") }
        guard versions.contains(bytes[1]) else { throw .unknownVersion(format: format, version: bytes[1]) }
        self.bytes = bytes
        self.offset = 2
        self.version = bytes[1]
    }

    /// Reads a nested structure that has no header of its own.
    package init(nested bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.version = 0
    }

    package var remaining: Int { bytes.count - offset }

    package mutating func byte(_ field: String) throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(field: field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    package mutating func uint16(_ field: String) throws(WireError) -> UInt16 {
        let raw = try fixed(2, field)
        return UInt16(raw[0]) << 8 | UInt16(raw[1])
    }

    package mutating func uint32(_ field: String) throws(WireError) -> UInt32 {
        try fixed(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    package mutating func uint64(_ field: String) throws(WireError) -> UInt64 {
        try fixed(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    package mutating func fixed(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        guard remaining >= count else { throw .truncated(field: field) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    package mutating func short(_ field: String, limit: Int = Int(UInt8.max)) throws(WireError) -> [UInt8] {
        let count = Int(try byte("\(field) length"))
        return try variable(count, field, limit: limit)
    }

    package mutating func medium(_ field: String, limit: Int) throws(WireError) -> [UInt8] {
        let count = Int(try uint16("\(field) length"))
        return try variable(count, field, limit: limit)
    }

    package mutating func long(_ field: String, limit: Int) throws(WireError) -> [UInt8] {
        let count = Int(try uint32("\(field) length"))
        return try variable(count, field, limit: limit)
    }

    private mutating func variable(_ count: Int, _ field: String, limit: Int) throws(WireError) -> [UInt8] {
        guard count <= limit else { throw .oversized(field: field, limit: limit, actual: count) }
        return try fixed(count, field)
    }

    /// A UTF-8 string field with a one-byte length.
    package mutating func shortString(_ field: String, limit: Int = Int(UInt8.max)) throws(WireError) -> String {
        let raw = try short(field, limit: limit)
        guard let value = String(validating: raw, as: UTF8.self) else {
            throw .invalidValue(field: field, reason: "not UTF-8")
        }
        return value
    }

    /// Every format ends here: anything left over is an error, not ignored.
    package func finish() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}
