import CBlueZ
import Foundation

/// A Bluetooth device address, `AA:BB:CC:DD:EE:FF`. Stored in display order (most significant
/// byte first); BlueZ's `bdaddr_t` keeps the same bytes little-endian.
public struct BluetoothAddress: Hashable, Sendable, Comparable {
    /// Six bytes, most significant first, as written.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(BluetoothError) {
        guard bytes.count == 6 else { throw .invalidAddress(bytes.map { String($0, radix: 16) }.joined(separator: ":")) }
        self.bytes = bytes
    }

    /// Parses `AA:BB:CC:DD:EE:FF` (either case; `-` also accepted between bytes). Stricter than
    /// `str2ba`, which accepts short groups and trailing text: exactly two hex digits per byte.
    public init(_ text: String) throws(BluetoothError) {
        let separator: Character = text.contains("-") ? "-" : ":"
        let groups = text.split(separator: separator, omittingEmptySubsequences: false)
        guard groups.count == 6 else { throw .invalidAddress(text) }
        var bytes: [UInt8] = []
        for group in groups {
            guard group.count == 2, group.allSatisfy(\.isHexDigit), let byte = UInt8(group, radix: 16) else {
                throw .invalidAddress(text)
            }
            bytes.append(byte)
        }
        // Cross-check against BlueZ's own parser, which is what the kernel will be given.
        var parsed = bdaddr_t()
        guard str2ba(text.replacingOccurrences(of: "-", with: ":"), &parsed) == 0 else { throw .invalidAddress(text) }
        self.bytes = bytes
        guard self.bdaddr.b == parsed.b else { throw .invalidAddress(text) }
    }

    init(bdaddr: bdaddr_t) {
        let b = bdaddr.b
        bytes = [b.5, b.4, b.3, b.2, b.1, b.0]
    }

    var bdaddr: bdaddr_t {
        bdaddr_t(b: (bytes[5], bytes[4], bytes[3], bytes[2], bytes[1], bytes[0]))
    }

    /// The all-zero address: "any adapter" when binding.
    public static let any = BluetoothAddress(bdaddr: proton_bdaddr_any())

    public static func < (lhs: BluetoothAddress, rhs: BluetoothAddress) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

extension BluetoothAddress: CustomStringConvertible {
    /// Upper-case, colon-separated: what `ba2str` and bluetoothctl print.
    public var description: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}
