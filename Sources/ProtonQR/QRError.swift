/// Why a QR code could not be made or read back. Each case reads as one sentence.
public enum QRError: Error, Equatable, Sendable {
    /// The text holds a character outside QR alphanumeric mode's 45 (`0-9 A-Z space $ % * + - . / :`).
    case notAlphanumeric(character: Character, offset: Int)
    /// The text is empty.
    case empty
    /// The text needs a larger symbol than the caller allows (or than QR's version 40).
    case tooLarge(requiredVersion: Int?, maximumVersion: Int, characters: Int)
    /// libqrencode failed for another reason (its errno).
    case encoderFailed(errno: Int32)
    /// A terminal rendering or module grid that is not a QR code this module printed.
    case unreadableRendering(reason: String)
}

extension QRError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notAlphanumeric(let character, let offset):
            "the text has \(character.debugDescription) at offset \(offset), which QR alphanumeric mode cannot hold"
        case .empty:
            "the text is empty"
        case .tooLarge(let required?, let maximum, let characters):
            "\(characters) characters need a version \(required) QR code, larger than the version \(maximum) allowed"
        case .tooLarge(nil, let maximum, let characters):
            "\(characters) characters do not fit in any QR code at this error-correction level (the limit asked was version \(maximum))"
        case .encoderFailed(let errno):
            "libqrencode failed (errno \(errno))"
        case .unreadableRendering(let reason):
            "the rendering is not a QR code: \(reason)"
        }
    }
}
