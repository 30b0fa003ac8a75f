import Foundation
import ProtonCrypto
import Testing

@testable import ProtonDirectory

/// C2SP signed notes, checked against golang.org/x/mod/sumdb/note's published test keys and
/// signatures (note_test.go: TestSign, TestOpen, TestNewVerifier). Ed25519 signatures are
/// deterministic, so signing the same text with the same seed must give their exact bytes.
struct SignedNoteTests {
    static let peterSigner = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let peterKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let enochKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterSignature =
        "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let enochSignature =
        "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

    /// The seed in Go's private-key text: base64(0x01 || 32-byte Ed25519 seed).
    static func peterKeyPair() throws -> DirectoryKey {
        let encoded = String(peterSigner.dropFirst("PRIVATE+KEY+PeterNeumann+c74f20a3+".count))
        var raw = [UInt8](Data(base64Encoded: encoded)!)
        #expect(raw.first == 0x01 && raw.count == 33)
        var seed = Array(raw.dropFirst())
        raw = []
        return try DirectoryKey(name: "PeterNeumann", privateKey: Ed25519.PrivateKey(seed: &seed))
    }

    @Test func signingReproducesGoSumdbNoteTestSignature() throws {
        let key = try Self.peterKeyPair()
        #expect(key.verifier.verifierKey == Self.peterKey)
        #expect(key.verifier.keyID == 0xc74f_20a3)
        #expect(key.signNote(text: Self.text).serialized == Self.text + "\n" + Self.peterSignature)
    }

    @Test func keyIDIsTheFirstFourBytesOfSHA256OfNameNewlineTypeAndKey() throws {
        let verifier = try NoteVerifier(verifierKey: Self.enochKey)
        #expect(verifier.keyID == 0xaf0c_fe78)
        let digest = SHA256.hash(Array("EnochRoot".utf8) + [0x0a, 0x01] + verifier.publicKey.rawRepresentation)
        #expect(Array(digest.prefix(4)) == [0xaf, 0x0c, 0xfe, 0x78])
    }

    @Test func verifiesWithThePinnedKeyAndIgnoresUnknownKeys() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterKey)
        let enoch = try NoteVerifier(verifierKey: Self.enochKey)
        let note = try SignedNote(parsing: Self.text + "\n" + Self.peterSignature + Self.enochSignature)
        #expect(note.text == Self.text)
        #expect(note.signatures.map(\.keyName) == ["PeterNeumann", "EnochRoot"])
        #expect(try note.verified(by: peter) == Self.text)
        #expect(try note.verified(by: enoch) == Self.text)
        // Only Enoch's signature: Peter's key finds nothing of its own.
        let enochOnly = try SignedNote(parsing: Self.text + "\n" + Self.enochSignature)
        #expect(throws: NoteError.noSignatureFromKnownKey(keyName: "PeterNeumann")) { try enochOnly.verified(by: peter) }
    }

    @Test func aSignatureThatSharesOnlyTheNameOrOnlyTheKeyIDIsIgnored() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterKey)
        // Same name, another key ID (the signature bytes are garbage): ignored, not refused.
        let otherID = "\u{2014} PeterNeumann AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        let note = try SignedNote(parsing: Self.text + "\n" + otherID + Self.peterSignature)
        #expect(try note.verified(by: peter) == Self.text)
        // Same key ID, another name: ignored.
        let otherName = Self.peterSignature.replacingOccurrences(of: "PeterNeumann", with: "CarmenSandiego")
        let renamed = try SignedNote(parsing: Self.text + "\n" + otherName)
        #expect(throws: NoteError.noSignatureFromKnownKey(keyName: "PeterNeumann")) { try renamed.verified(by: peter) }
    }

    @Test func aBadSignatureFromTheKnownKeyRejectsTheWholeNote() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterKey)
        // Go's TestOpen "Invalid signature": four characters inserted into the base64.
        let sig = Self.peterSignature
        let broken = String(sig.prefix(60)) + "ABCD" + String(sig.dropFirst(60))
        let note = try SignedNote(parsing: Self.text + "\n" + broken)
        #expect(throws: NoteError.invalidSignature(keyName: "PeterNeumann")) { try note.verified(by: peter) }
        // A good one beside it does not save it.
        let both = try SignedNote(parsing: Self.text + "\n" + Self.peterSignature + broken)
        #expect(throws: NoteError.invalidSignature(keyName: "PeterNeumann")) { try both.verified(by: peter) }
        // Nor does an altered text verify.
        let altered = try SignedNote(parsing: Self.text.replacingOccurrences(of: "problem,", with: "problem;") + "\n" + sig)
        #expect(throws: NoteError.invalidSignature(keyName: "PeterNeumann")) { try altered.verified(by: peter) }
    }

    /// Go's TestOpen "Invalid encoded message syntax" list, and more.
    @Test func malformedNotesAreRefused() throws {
        let text = Self.text
        let sig = Self.peterSignature
        let bad: [String] = [
            text,
            text + "\n",
            text + "\n" + String(sig.dropLast()),
            "\u{01}" + text + "\n" + sig,
            text + "\n" + "\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
            text + "\n" + sig + "Unexpected line.\n",
            text + "\n" + "-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            text + "\n" + "\u{2014} Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            text + "\n" + "\u{2014} PeterNeumann AAAA\n",
            text + "\n" + "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
            text + "\n" + sig.replacingOccurrences(of: "\n", with: "\r\n"),
            text.replacingOccurrences(of: "think", with: "th\tink") + "\n" + sig,
            "\n\n" + sig,
        ]
        for note in bad {
            #expect(throws: NoteError.self, "\(note.debugDescription)") { try SignedNote(parsing: note) }
        }
        // Well-formed (a key ID and two bytes), so parsed as Go parses it — and then refused
        // as a signature from the known key that does not verify.
        let short = try SignedNote(parsing: text + "\n" + "\u{2014} PeterNeumann x08go/ZJ\n")
        #expect(throws: NoteError.invalidSignature(keyName: "PeterNeumann")) { try short.verified(by: NoteVerifier(verifierKey: Self.peterKey)) }
        #expect(throws: NoteError.malformed(reason: "not UTF-8")) { try SignedNote(parsing: [0xff] + Array((text + "\n" + sig).utf8)) }
    }

    @Test func limitsAreEnforced() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterKey)
        // 32 signatures are read (the specification requires at least 16); 33 are refused, as
        // Go refuses 101.
        let many = try SignedNote(parsing: Self.text + "\n" + String(repeating: Self.peterSignature, count: 32))
        #expect(try many.verified(by: peter) == Self.text)
        #expect(throws: NoteError.tooLarge(what: "signature count", limit: 32, actual: 33)) {
            try SignedNote(parsing: Self.text + "\n" + String(repeating: Self.peterSignature, count: 33))
        }
        let longLine = String(repeating: "a", count: SignedNote.Limits.maximumLineByteCount + 1) + "\n"
        #expect(throws: NoteError.tooLarge(what: "line length", limit: 8_192, actual: 8_193)) {
            try SignedNote(parsing: longLine + "\n" + Self.peterSignature)
        }
        let manyLines = String(repeating: "line\n", count: 65)
        #expect(throws: NoteError.tooLarge(what: "text line count", limit: 64, actual: 65)) {
            try SignedNote(parsing: manyLines + "\n" + Self.peterSignature)
        }
        let huge = [UInt8](repeating: 0x61, count: SignedNote.Limits.maximumByteCount + 1)
        #expect(throws: NoteError.tooLarge(what: "size", limit: 65_536, actual: 65_537)) { try SignedNote(parsing: huge) }
    }

    @Test func theTextEndsAtTheLastBlankLine() throws {
        // c2sp.org/signed-note: "The note text MAY contain empty lines".
        let key = try Self.peterKeyPair()
        let text = "first paragraph\n\nsecond paragraph\n"
        let note = key.signNote(text: text)
        let parsed = try SignedNote(parsing: note.serialized)
        #expect(parsed.text == text)
        #expect(try parsed.verified(by: key.verifier) == text)
    }

    /// Go's TestNewVerifier: the key parses, and every substring and every single-character
    /// change of it is refused.
    @Test func verifierKeysAreParsedStrictly() throws {
        let verifier = try NoteVerifier(verifierKey: Self.peterKey)
        #expect(verifier.name == "PeterNeumann")
        #expect(verifier.verifierKey == Self.peterKey)
        let bytes = Array(Self.peterKey.utf8)
        var refused = 0
        for start in 0...bytes.count {
            for end in (start + 1)..<(bytes.count + 1) where start != 0 || end != bytes.count {
                if (try? NoteVerifier(verifierKey: String(decoding: bytes[start..<end], as: UTF8.self))) == nil { refused += 1 } else {
                    Issue.record("accepted a substring \(start)..<\(end)")
                }
            }
        }
        #expect(refused > 0)
        for position in bytes.indices {
            var changed = bytes
            changed[position] &+= 1
            #expect((try? NoteVerifier(verifierKey: String(decoding: changed, as: UTF8.self))) == nil, "changed byte \(position)")
        }
        // Wrong key length and unknown algorithm, each with a matching key ID (Go's vectors).
        #expect(throws: NoteError.self) { try NoteVerifier(verifierKey: "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==") }
        #expect(throws: NoteError.self) { try NoteVerifier(verifierKey: "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW") }
        // Upper-case hex is refused: one key, one text to pin.
        #expect(throws: NoteError.self) { try NoteVerifier(verifierKey: "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW") }
    }

    @Test func keyNamesFollowTheSpecification() {
        #expect(NoteVerifier.isValidKeyName("example.com/log42"))
        #expect(NoteVerifier.isValidKeyName("directory.example.org"))
        for bad in ["", "a b", "a+b", "a\u{00a0}b", "a\u{2003}b", "a\nb", "a\tb"] {
            #expect(!NoteVerifier.isValidKeyName(bad), "\(bad.debugDescription)")
        }
    }
}
