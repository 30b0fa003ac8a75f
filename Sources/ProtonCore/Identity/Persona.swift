import ProtonCrypto

/// One contextual identity of a person: an Ed25519 identity key and a display name.
public struct Persona: Sendable {
    public static let maximumNameByteCount = 64

    public var displayName: String
    public let identityKey: Ed25519.PrivateKey

    public init(displayName: String, identityKey: Ed25519.PrivateKey) throws(WireError) {
        try Persona.validate(displayName: displayName)
        self.displayName = displayName
        self.identityKey = identityKey
    }

    public init(displayName: String, random: some RandomSource) throws(WireError) {
        try self.init(displayName: displayName, identityKey: Ed25519.PrivateKey(using: random))
    }

    public var publicIdentity: Ed25519.PublicKey { identityKey.publicKey }

    /// A display name is shown to others as who someone is, so it must read as what it is:
    /// 1–64 bytes of UTF-8 with at least one visible character, and nothing that changes how
    /// the text around it is shown: no control characters, no line or paragraph separators, and
    /// no bidirectional controls (a right-to-left override turns `Bob\u{202E}gnp.exe` into
    /// "Bobexe.png" on screen; Unicode's Bidi_Control property, UAX #9 section 2). Joiners stay
    /// allowed: emoji sequences and Persian and Indic scripts need them.
    public static func validate(displayName: String) throws(WireError) {
        let count = displayName.utf8.count
        guard count > 0 else { throw .invalidValue(field: "display name", reason: "empty") }
        guard count <= maximumNameByteCount else {
            throw .oversized(field: "display name", limit: maximumNameByteCount, actual: count)
        }
        for scalar in displayName.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control: throw .invalidValue(field: "display name", reason: "contains control characters")
            case .lineSeparator, .paragraphSeparator: throw .invalidValue(field: "display name", reason: "contains a line break")
            default: break
            }
            if scalar.properties.isBidiControl {
                throw .invalidValue(field: "display name", reason: "contains a bidirectional control (U+\(String(scalar.value, radix: 16, uppercase: true)))")
            }
        }
        guard displayName.unicodeScalars.contains(where: Self.isVisible) else {
            throw .invalidValue(field: "display name", reason: "has no visible character")
        }
    }

    /// `name` with what `validate` refuses taken out, for a name stored before these rules:
    /// still the person's name as far as it can be, and one that peers accept. "?" if nothing
    /// visible is left.
    public static func neutralised(_ name: String) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            let category = scalar.properties.generalCategory
            if category == .control || category == .lineSeparator || category == .paragraphSeparator || scalar.properties.isBidiControl {
                continue
            }
            kept.append(scalar)
        }
        var result = String(kept)
        while result.utf8.count > maximumNameByteCount { result.removeLast() }
        return (try? validate(displayName: result)) == nil ? "?" : result
    }

    /// Draws something by itself: not a space, not a joiner or other default-ignorable
    /// character, not a mark that only decorates another, not unassigned.
    private static func isVisible(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isWhitespace || properties.isDefaultIgnorableCodePoint { return false }
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control, .unassigned, .surrogate, .spaceSeparator: return false
        default: return true
        }
    }
}
