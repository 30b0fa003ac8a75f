/// One signature line of a signed note: "— <key name> <base64(key ID || signature)>".
public struct NoteSignature: Sendable, Equatable {
    public let keyName: String
    /// The first four bytes of the decoded base64, big-endian (c2sp.org/signed-note, "Format").
    public let keyID: UInt32
    /// The remaining bytes: for Ed25519, the 64-byte RFC 8032 signature of the note text.
    public let signature: [UInt8]

    public init(keyName: String, keyID: UInt32, signature: [UInt8]) {
        self.keyName = keyName
        self.keyID = keyID
        self.signature = signature
    }

    /// The line as it travels, newline included.
    public var line: String {
        let id: [UInt8] = [UInt8(keyID >> 24), UInt8((keyID >> 16) & 0xff), UInt8((keyID >> 8) & 0xff), UInt8(keyID & 0xff)]
        return SignedNote.signaturePrefix + keyName + " " + NoteBase64.encode(id + signature) + "\n"
    }
}

/// A C2SP signed note (c2sp.org/signed-note): a text ending in a newline, a blank line, and
/// one or more signature lines. The parser is strict and bounded — a note comes from a server
/// the client does not trust — and `verified(by:)` applies the specification's rules for known
/// and unknown keys.
public struct SignedNote: Sendable, Equatable {
    /// Em dash (U+2014) and a space open every signature line.
    static let signaturePrefix = "\u{2014} "

    /// Bounds on what the parser will read. The specification asks verifiers to bound the
    /// number of signatures and to accept at least 16.
    public enum Limits {
        public static let maximumByteCount = 65_536
        public static let maximumSignatureCount = 32
        public static let maximumTextLineCount = 64
        /// Long enough for a post-quantum signature line (the specification warns of ~5 kB).
        public static let maximumLineByteCount = 8_192
    }

    /// The signed text, final newline included, the separating blank line excluded.
    public let text: String
    public let signatures: [NoteSignature]

    public init(text: String, signatures: [NoteSignature]) {
        self.text = text
        self.signatures = signatures
    }

    /// The note as it travels: text, blank line, signature lines.
    public var serialized: String {
        text + "\n" + signatures.map(\.line).joined()
    }

    public init(parsing note: String) throws(NoteError) {
        try self.init(parsing: Array(note.utf8))
    }

    /// Parses without verifying (`verified(by:)` does that). Refuses, with a reason: more than
    /// `Limits` allows; invalid UTF-8; a control character other than newline ("Signed notes
    /// MUST be valid UTF-8 and MUST NOT contain any ASCII control characters (those below
    /// U+0020) other than newline"); no blank line; a signature block that is empty, does not
    /// end in a newline, or holds a line that is not a well-formed signature line.
    public init(parsing bytes: [UInt8]) throws(NoteError) {
        guard bytes.count <= Limits.maximumByteCount else {
            throw .tooLarge(what: "size", limit: Limits.maximumByteCount, actual: bytes.count)
        }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .malformed(reason: "not UTF-8") }
        if let control = bytes.firstIndex(where: { $0 < 0x20 && $0 != 0x0A }) {
            throw .malformed(reason: "control character at byte \(control)")
        }
        var lineStart = 0
        for (offset, byte) in bytes.enumerated() where byte == 0x0A {
            guard offset - lineStart <= Limits.maximumLineByteCount else {
                throw .tooLarge(what: "line length", limit: Limits.maximumLineByteCount, actual: offset - lineStart)
            }
            lineStart = offset + 1
        }
        guard bytes.count - lineStart <= Limits.maximumLineByteCount else {
            throw .tooLarge(what: "line length", limit: Limits.maximumLineByteCount, actual: bytes.count - lineStart)
        }
        // "the text is separated from the signatures by the last empty line in the note":
        // the last "\n\n"; the text keeps its final newline.
        guard let split = Self.lastBlankLine(bytes) else { throw .malformed(reason: "no blank line before the signatures") }
        let textBytes = Array(bytes[...split])
        let signatureBytes = bytes[(split + 2)...]
        guard textBytes.count > 1 || textBytes != [0x0A] else { throw .malformed(reason: "empty text") }
        let textLines = textBytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        guard textLines <= Limits.maximumTextLineCount else {
            throw .tooLarge(what: "text line count", limit: Limits.maximumTextLineCount, actual: textLines)
        }
        guard !signatureBytes.isEmpty, signatureBytes.last == 0x0A else {
            throw .malformed(reason: "the signatures do not end in a newline")
        }
        let lines = signatureBytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count <= Limits.maximumSignatureCount else {
            throw .tooLarge(what: "signature count", limit: Limits.maximumSignatureCount, actual: lines.count)
        }
        var signatures = [NoteSignature]()
        for line in lines { signatures.append(try Self.parseSignatureLine(Array(line))) }
        self.text = String(decoding: textBytes, as: UTF8.self)
        self.signatures = signatures
    }

    /// The index of the first newline of the last "\n\n".
    private static func lastBlankLine(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        var index = bytes.count - 2
        while index >= 0 {
            if bytes[index] == 0x0A && bytes[index + 1] == 0x0A { return index }
            index -= 1
        }
        return nil
    }

    /// "em dash (U+2014), space (U+0020), key name, space, base64-encoded signature"; the
    /// signature decodes to 4 + n bytes, n > 0.
    private static func parseSignatureLine(_ line: [UInt8]) throws(NoteError) -> NoteSignature {
        let prefix = Array(signaturePrefix.utf8)
        guard line.starts(with: prefix) else { throw .malformed(reason: "a signature line does not start with an em dash and a space") }
        let body = line[prefix.count...]
        guard let space = body.firstIndex(of: 0x20) else { throw .malformed(reason: "a signature line has no signature") }
        let name = String(decoding: body[..<space], as: UTF8.self)
        let encoded = String(decoding: body[(space + 1)...], as: UTF8.self)
        guard NoteVerifier.isValidKeyName(name) else { throw .malformed(reason: "a signature line has an invalid key name") }
        guard let raw = NoteBase64.decode(encoded), raw.count > 4 else {
            throw .malformed(reason: "a signature is not base64 of a key ID and a signature")
        }
        let keyID = raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return NoteSignature(keyName: name, keyID: keyID, signature: Array(raw.dropFirst(4)))
    }

    /// Checks the note against one known key, by c2sp.org/signed-note's "Signatures" rules:
    /// signatures whose (name, key ID) is not the known key's are ignored, "even if they share
    /// a name or ID (but not both) with a known key"; every signature from the known key must
    /// verify (one that fails rejects the whole note); and at least one must be there. Returns
    /// the verified text.
    @discardableResult
    public func verified(by verifier: NoteVerifier) throws(NoteError) -> String {
        let message = Array(text.utf8)
        var found = false
        for signature in signatures where signature.keyName == verifier.name && signature.keyID == verifier.keyID {
            guard verifier.isValidSignature(signature.signature, forText: message) else {
                throw .invalidSignature(keyName: verifier.name)
            }
            found = true
        }
        guard found else { throw .noSignatureFromKnownKey(keyName: verifier.name) }
        return text
    }
}
