import CQREncode
import Foundation

/// A QR code symbol: its version and its modules, encoded by libqrencode from text in
/// alphanumeric mode at error-correction level M.
public struct QRCode: Sendable, Equatable {
    /// QR alphanumeric mode's character set (ISO/IEC 18004 §7.4.4), which is also Base45's alphabet.
    public static let alphanumericCharacters = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")

    /// 1...40; the symbol is `4 × version + 17` modules on a side.
    public let version: Int
    /// The symbol's modules, row by row, `true` for dark; no quiet zone.
    public let modules: ModuleGrid

    public var size: Int { modules.width }

    /// Encodes `text` as one alphanumeric segment at ECC M, in the smallest version that holds
    /// it, and refuses when that is above `maximumVersion`.
    public static func encode(alphanumeric text: String, maximumVersion: Int = 40) throws(QRError) -> QRCode {
        guard !text.isEmpty else { throw .empty }
        for (offset, character) in text.enumerated() where !alphanumericCharacters.contains(character) {
            throw .notAlphanumeric(character: character, offset: offset)
        }
        let limit = min(max(maximumVersion, 1), 40)
        let bytes = Array(text.utf8)
        guard let input = QRinput_new2(0, QR_ECLEVEL_M) else { throw .encoderFailed(errno: errno) }
        defer { QRinput_free(input) }
        let appended = bytes.withUnsafeBufferPointer { QRinput_append(input, QR_MODE_AN, Int32($0.count), $0.baseAddress) }
        guard appended == 0 else { throw .encoderFailed(errno: errno) }
        guard let code = QRcode_encodeInput(input) else {
            if errno == ERANGE { throw .tooLarge(requiredVersion: nil, maximumVersion: limit, characters: bytes.count) }
            throw .encoderFailed(errno: errno)
        }
        defer { QRcode_free(code) }
        let version = Int(code.pointee.version)
        guard version <= limit else { throw .tooLarge(requiredVersion: version, maximumVersion: limit, characters: bytes.count) }
        let width = Int(code.pointee.width)
        // Bit 0 of each byte is the module's colour; the other bits say what kind of module it is.
        let dark = (0..<width * width).map { code.pointee.data[$0] & 1 == 1 }
        return QRCode(version: version, modules: ModuleGrid(width: width, height: width, dark: dark))
    }

    /// The modules with a light border of `quietZone` modules on every side (the standard asks for 4).
    public func withQuietZone(_ quietZone: Int = 4) -> ModuleGrid {
        modules.padded(by: quietZone)
    }
}
