import ProtonCrypto

/// Test-only hex codec. Whitespace in the input is ignored, so vectors can be laid out the way
/// the RFCs print them.
enum Hex {
    static func bytes(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            let pair = String(digits[index..<index + 2])
            guard let byte = UInt8(pair, radix: 16) else { preconditionFailure("not hex: \(pair)") }
            out.append(byte)
            index += 2
        }
        return out
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    /// Lowercase, whitespace-free form of a printed vector, for comparing with `string(_:)`.
    static func normalized(_ text: String) -> String {
        String(text.filter { !$0.isWhitespace }).lowercased()
    }
}

extension SecureBytes {
    /// The bytes as lowercase hex, for comparing with a published vector.
    var hex: String { Hex.string(unsafeExportedBytes()) }
}

extension Array where Element == UInt8 {
    /// A copy with bit `bit` (0 = least significant bit of byte 0) inverted.
    func flippingBit(_ bit: Int) -> [UInt8] {
        var copy = self
        copy[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
        return copy
    }
}
