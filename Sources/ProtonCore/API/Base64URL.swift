import Foundation

/// base64url without padding (RFC 4648 section 5), the byte encoding of every JSON API.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes, refusing anything but the base64url alphabet (no padding, no whitespace) and
    /// anything that decodes to more than `limit` bytes.
    public static func decode(_ text: String, limit: Int) throws(WireError) -> [UInt8] {
        guard text.utf8.count <= (limit * 4 + 2) / 3 else {
            throw .oversized(field: "base64url text", limit: (limit * 4 + 2) / 3, actual: text.utf8.count)
        }
        guard text.utf8.allSatisfy({ isAlphabet($0) }), text.utf8.count % 4 != 1 else {
            throw .invalidValue(field: "base64url text", reason: "not base64url without padding")
        }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        guard let data = Data(base64Encoded: standard) else {
            throw .invalidValue(field: "base64url text", reason: "not base64url without padding")
        }
        return Array(data)
    }

    private static func isAlphabet(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
