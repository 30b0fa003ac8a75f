import ProtonCrypto
/// Builds the binary formats: big-endian integers, fixed-size keys, and length-prefixed
/// variable fields.
package struct WireWriter {
    package private(set) var bytes: [UInt8] = []

    package init(format: WireFormat, version: UInt8 = WireFormat.currentVersion, capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
        bytes.append(format.rawValue)
        bytes.append(version)
    }

    /// A writer for a nested structure with no header of its own.
    package init(nestedCapacity: Int = 64) {
        bytes.reserveCapacity(nestedCapacity)
    }

    package mutating func byte(_ value: UInt8) { bytes.append(value) }

    package mutating func uint16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }

    package mutating func uint32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xff)) }
    }

    package mutating func uint64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
    }

    package mutating func fixed(_ value: [UInt8]) { bytes.append(contentsOf: value) }
    /// What was written, as a secret: moved into zeroing storage and zeroed here (a copy of
    /// `bytes` taken first would share the buffer, and zeroing it would zero only the copy).
    package mutating func takeSecret() -> SecureBytes { SecureBytes(consuming: &bytes) }
    /// A secret, appended from its zeroing storage without a plain copy on the way.
    package mutating func secret(_ value: SecureBytes) { value.append(to: &bytes) }

    /// A field of up to 255 bytes with a one-byte length.
    package mutating func short(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt8.max))
        byte(UInt8(value.count))
        fixed(value)
    }

    /// A field of up to 65,535 bytes with a two-byte length.
    package mutating func medium(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt16.max))
        uint16(UInt16(value.count))
        fixed(value)
    }

    /// `medium` for a secret, from its zeroing storage.
    package mutating func mediumSecret(_ value: SecureBytes) {
        precondition(value.count <= Int(UInt16.max))
        uint16(UInt16(value.count))
        secret(value)
    }

    /// A field with a four-byte length.
    package mutating func long(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt32.max))
        uint32(UInt32(value.count))
        fixed(value)
    }
}
