import ProtonCrypto

/// A number two people read to each other to check they hold each other's identity keys: the
/// construction of Signal's numeric fingerprints (version 0, 5200 iterations of SHA-512, 30
/// digits per party, the two halves in sorted order so both sides see the same 60 digits).
public struct SafetyNumber: Sendable, Equatable, CustomStringConvertible {
    static let iterations = 5200
    public let digits: String

    public init(_ first: Ed25519.PublicKey, _ second: Ed25519.PublicKey) {
        let halves = [Self.fingerprint(first), Self.fingerprint(second)].sorted()
        digits = halves.joined()
    }

    /// Twelve groups of five digits.
    public var description: String {
        var groups: [Substring] = []
        var rest = Substring(digits)
        while !rest.isEmpty {
            groups.append(rest.prefix(5))
            rest = rest.dropFirst(5)
        }
        return groups.joined(separator: " ")
    }

    private static func fingerprint(_ key: Ed25519.PublicKey) -> String {
        let keyBytes = key.rawRepresentation
        // Version 0, the key, and a stable identifier: Proton has no phone number, so the key is
        // its own identifier.
        var hash = SHA512.hash([0, 0] + keyBytes + keyBytes)
        for _ in 0..<iterations { hash = SHA512.hash(hash + keyBytes) }
        var out = ""
        for chunk in 0..<6 {
            let value = hash[chunk * 5..<chunk * 5 + 5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 100_000
            let text = String(value)
            out += String(repeating: "0", count: 5 - text.count) + text
        }
        return out
    }
}
