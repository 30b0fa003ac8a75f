/// base64url without padding (RFC 4648 section 5), the byte encoding of every JSON API.
///
/// Hand-written over byte buffers: every message crosses this several times on its way through
/// the services (in JSON bodies at each hop), and Foundation's base64 followed by three
/// `replacingOccurrences` passes cost about 0.3 ms per 1 KiB message on Linux, most of the
/// services' time (docs/performance.md, "Services on loopback").
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// The same from memory the caller holds (a column read straight out of the database).
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = (bytes.count * 4 + 2) / 3
        guard count > 0 else { return "" }
        return String(unsafeUninitializedCapacity: count) { output in
            do {
                let input = bytes
                var i = 0
                var o = 0
                func put(_ sextet: UInt32) {
                    output[o] = alphabet[Int(sextet & 0x3f)]
                    o += 1
                }
                while i + 3 <= input.count {
                    let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    put(v >> 18)
                    put(v >> 12)
                    put(v >> 6)
                    put(v)
                    i += 3
                }
                switch input.count - i {
                case 1:
                    let v = UInt32(input[i]) << 16
                    put(v >> 18)
                    put(v >> 12)
                case 2:
                    let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                    put(v >> 18)
                    put(v >> 12)
                    put(v >> 6)
                default:
                    break
                }
            }
            return count
        }
    }

    /// Decodes, refusing anything but the base64url alphabet (no padding, no whitespace),
    /// anything that decodes to more than `limit` bytes, and a last character whose unused low
    /// bits are not zero (RFC 4648 section 3.5 lets a decoder refuse them): so every value has
    /// exactly one text, and no two texts (a nonce, an address in a path) stand for one value.
    public static func decode(_ text: String, limit: Int) throws(WireError) -> [UInt8] {
        var text = text
        // Over the contiguous UTF-8 bytes: `text.utf8.contains` walks a String index by index,
        // which cost as much as the decoding itself.
        return try text.withUTF8 { input -> Result<[UInt8], WireError> in
            // Padding is an encoding error, whatever the length: checked first, so that a padded
            // field is refused as bad base64 rather than as too long.
            guard !input.contains(UInt8(ascii: "=")) else { return .failure(notBase64URL) }
            guard input.count <= (limit * 4 + 2) / 3 else {
                return .failure(.oversized(field: "base64url text", limit: (limit * 4 + 2) / 3, actual: input.count))
            }
            guard input.count % 4 != 1 else { return .failure(notBase64URL) }
            var output = [UInt8]()
            output.reserveCapacity(input.count * 3 / 4)
            var i = 0
            var invalid: UInt8 = 0
            func value(_ index: Int) -> UInt32 {
                let v = decodingTable[Int(input[index])]
                invalid |= v
                return UInt32(v & 0x3f)
            }
            while i + 4 <= input.count {
                let v = value(i) << 18 | value(i + 1) << 12 | value(i + 2) << 6 | value(i + 3)
                output.append(UInt8(truncatingIfNeeded: v >> 16))
                output.append(UInt8(truncatingIfNeeded: v >> 8))
                output.append(UInt8(truncatingIfNeeded: v))
                i += 4
            }
            switch input.count - i {
            case 2:
                let v = value(i) << 18 | value(i + 1) << 12
                output.append(UInt8(truncatingIfNeeded: v >> 16))
                if v & 0xffff != 0 { invalid |= 0x80 }
            case 3:
                let v = value(i) << 18 | value(i + 1) << 12 | value(i + 2) << 6
                output.append(UInt8(truncatingIfNeeded: v >> 16))
                output.append(UInt8(truncatingIfNeeded: v >> 8))
                if v & 0xff != 0 { invalid |= 0x80 }
            default:
                break
            }
            return invalid & 0x80 == 0 ? .success(output) : .failure(notBase64URL)
        }.get()
    }

    private static let notBase64URL = WireError.invalidValue(field: "base64url text", reason: "not base64url without padding")

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Each byte's six-bit value, or 0x80 for a byte outside the alphabet.
    private static let decodingTable: [UInt8] = {
        var table = [UInt8](repeating: 0x80, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()
}
