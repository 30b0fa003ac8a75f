import Foundation
import ProtonCrypto

/// A known Ed25519 note key (c2sp.org/signed-note, "Ed25519 signatures"): a name, its 4-byte
/// key ID, and the public key. This is what a client pins for a directory, in the verifier
/// key text form `<name>+<hex key ID>+<base64(0x01 || public key)>` (as golang.org/x/mod/sumdb/note
/// writes it). The same key signs the directory's checkpoints and its attestations.
public struct NoteVerifier: Sendable, Hashable {
    /// The signature type identifier byte for Ed25519 (c2sp.org/signed-note, "Signature types").
    public static let ed25519SignatureType: UInt8 = 0x01

    public let name: String
    public let keyID: UInt32
    public let publicKey: Ed25519.PublicKey

    public init(name: String, publicKey: Ed25519.PublicKey) throws(NoteError) {
        guard Self.isValidKeyName(name) else { throw .invalidKeyName }
        self.name = name
        self.publicKey = publicKey
        self.keyID = Self.keyID(name: name, publicKey: publicKey)
    }

    /// key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4], read as a
    /// big-endian uint32 (c2sp.org/signed-note, "Ed25519 signatures").
    public static func keyID(name: String, publicKey: Ed25519.PublicKey) -> UInt32 {
        let digest = SHA256.hash(Array(name.utf8) + [0x0A, ed25519SignatureType] + publicKey.rawRepresentation)
        return digest.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)
    /// characters" (c2sp.org/signed-note, "Format"). Control characters are refused as well:
    /// a note may not contain them anywhere.
    public static func isValidKeyName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= SignedNote.Limits.maximumLineByteCount
            && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0 == "+" || $0.value < 0x20 || $0.value == 0x7f }
    }

    /// Parses a verifier key `<name>+<8 lowercase hex digits>+<base64(0x01 || 32 bytes)>`,
    /// refusing any other algorithm, length or encoding, and a key ID that does not match.
    public init(verifierKey text: String) throws(NoteError) {
        let (name, keyID, publicKey) = try Self.parse(verifierKey: text, signatureType: Self.ed25519SignatureType)
        try self.init(name: name, publicKey: publicKey)
        guard self.keyID == keyID else { throw .invalidVerifierKey(reason: "the key ID does not match the name and key") }
    }

    /// The parts of a verifier key `<name>+<8 lowercase hex digits>+<base64(type || 32 bytes)>`
    /// for an Ed25519 key of `signatureType` (0x01 for note signatures, 0x04 for cosignatures).
    static func parse(verifierKey text: String, signatureType: UInt8) throws(NoteError) -> (name: String, keyID: UInt32, publicKey: Ed25519.PublicKey) {
        guard text.utf8.count <= 1024 else { throw .invalidVerifierKey(reason: "too long") }
        // The name holds no '+', and the key ID is hex: the first two '+' delimit them; the
        // base64 after them may itself hold '+'.
        guard let firstPlus = text.firstIndex(of: "+") else { throw .invalidVerifierKey(reason: "no key ID") }
        let name = String(text[..<firstPlus])
        let rest = text[text.index(after: firstPlus)...]
        guard let secondPlus = rest.firstIndex(of: "+") else { throw .invalidVerifierKey(reason: "no public key") }
        let hex = rest[..<secondPlus]
        let encodedKey = String(rest[rest.index(after: secondPlus)...])
        guard isValidKeyName(name) else { throw .invalidVerifierKey(reason: "bad key name") }
        guard hex.utf8.count == 8, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let keyID = UInt32(hex, radix: 16)
        else { throw .invalidVerifierKey(reason: "the key ID is not 8 lowercase hex digits") }
        guard let raw = NoteBase64.decode(encodedKey) else { throw .invalidVerifierKey(reason: "the key is not base64") }
        guard raw.count == 1 + Ed25519.publicKeyByteCount, raw[0] == signatureType,
            let publicKey = try? Ed25519.PublicKey(rawRepresentation: Array(raw.dropFirst()))
        else { throw .invalidVerifierKey(reason: "not an Ed25519 key (type 0x0\(signatureType), 32 bytes)") }
        return (name, keyID, publicKey)
    }

    /// The verifier key text to pin: `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    public var verifierKey: String {
        name + "+" + Self.hex(keyID) + "+" + NoteBase64.encode([Self.ed25519SignatureType] + publicKey.rawRepresentation)
    }

    static func hex(_ keyID: UInt32) -> String {
        let digits = String(keyID, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// True when this key's Ed25519 signature over the note text verifies (RFC 8032).
    public func isValidSignature(_ signature: [UInt8], forText text: [UInt8]) -> Bool {
        signature.count == Ed25519.signatureByteCount && publicKey.isValidSignature(signature, for: text)
    }
}

/// Standard base64 with padding (RFC 4648 section 4), as signed notes and checkpoints use it.
/// Decoding accepts only the canonical encoding, so one value has one text.
enum NoteBase64 {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func decode(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count % 4 == 0,
            text.utf8.allSatisfy({ isAlphabet($0) }),
            let data = Data(base64Encoded: text)
        else { return nil }
        let bytes = [UInt8](data)
        guard encode(bytes) == text else { return nil }
        return bytes
    }

    private static func isAlphabet(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            true
        default: false
        }
    }
}
