import ProtonCrypto

/// An unguessable mailbox id at a receiving service: 128 random bits, issued for one
/// relationship.
public struct AddressID: Hashable, Sendable, Comparable {
    public static let byteCount = 16
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(WireError) {
        guard bytes.count == AddressID.byteCount else {
            throw .invalidValue(field: "address", reason: "must be \(AddressID.byteCount) bytes")
        }
        self.bytes = bytes
    }

    public init(random: some RandomSource) {
        bytes = random.bytes(AddressID.byteCount)
    }

    /// Lowercase hex, the form used in logs, JSON and the CLI.
    public var hex: String { bytes.hexString }

    public init(hex: String) throws(WireError) {
        guard let bytes = [UInt8](hexString: hex) else {
            throw .invalidValue(field: "address", reason: "not hex")
        }
        try self.init(bytes: bytes)
    }

    public static func < (lhs: AddressID, rhs: AddressID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

extension AddressID: CustomStringConvertible {
    public var description: String { hex }
}

/// An address together with the key that owns it: only the holder of `authKey` may read or
/// delete what the receiving service holds for it.
public struct OwnedAddress: Sendable {
    public let id: AddressID
    public let authKey: Ed25519.PrivateKey

    public init(id: AddressID, authKey: Ed25519.PrivateKey) {
        self.id = id
        self.authKey = authKey
    }

    public init(random: some RandomSource) {
        self.init(id: AddressID(random: random), authKey: Ed25519.PrivateKey(using: random))
    }
}

extension [UInt8] {
    var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    init?(hexString: String) {
        let characters = Array(hexString.utf8)
        guard characters.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = value(characters[index]), let low = value(characters[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        self = out
    }
}
