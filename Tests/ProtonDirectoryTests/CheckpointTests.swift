import Foundation
import Testing

@testable import ProtonDirectory

/// c2sp.org/tlog-checkpoint: the note text, and signed checkpoints under a pinned key.
struct CheckpointTests {
    static let referenceRoot = Hex.bytes(MerkleVectorTests.roots[8])

    @Test func textIsOriginSizeAndBase64Root() throws {
        let checkpoint = try Checkpoint(origin: "example.com/behind-the-sofa", size: 8, rootHash: Self.referenceRoot)
        #expect(checkpoint.text == "example.com/behind-the-sofa\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n")
        #expect(try Checkpoint(text: checkpoint.text) == checkpoint)
    }

    /// The example in the specification parses (its signature's key is not published).
    @Test func parsesTheSpecificationsExample() throws {
        let note = try SignedNote(
            parsing: """
                example.com/behind-the-sofa
                20852163
                CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

                \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=

                """)
        let checkpoint = try Checkpoint(text: note.text)
        #expect(checkpoint.origin == "example.com/behind-the-sofa")
        #expect(checkpoint.size == 20_852_163)
        #expect(checkpoint.rootHash.count == 32)
        #expect(checkpoint.extensions.isEmpty)
    }

    /// The RFC 6962 reference tree of eight leaves, signed by the test directory key. Ed25519
    /// is deterministic; the signature was checked with OpenSSL when written. docs/directory.md
    /// prints this note.
    static let signedReferenceCheckpoint =
        "directory.example.org\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
        + "\u{2014} directory.example.org Quy1F4oImRbKy2jWOoa6+BZFiQQrNGI4uLAvNqa0RHmukukI70ijzNjzDMjM+8sMu8EpRlun/BX3362X6ixnnoJiGwk=\n"

    @Test func signedReferenceCheckpointIsReproducible() throws {
        let log = try MerkleVectorTests.referenceLog()
        let signed = try TestKeys.directory.sign(try log.checkpoint(origin: TestKeys.directoryName))
        #expect(signed.serialized == Self.signedReferenceCheckpoint)
        let verified = try SignedCheckpoint(
            verifying: Self.signedReferenceCheckpoint, verifier: NoteVerifier(verifierKey: AttestationTests.directoryVerifierKey))
        #expect(verified.checkpoint.size == 8)
        #expect(verified.checkpoint.rootHash == Self.referenceRoot)
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/directory.md")
        let document = try String(contentsOf: url, encoding: .utf8)
        #expect(document.contains(Self.signedReferenceCheckpoint), "docs/directory.md does not print the signed checkpoint")
    }

    /// Every flipped bit of a signed checkpoint — in the text, the key name, the key ID, the
    /// signature, the em dash or a newline — is refused by the pinned verifier.
    @Test func everyFlippedBitOfASignedCheckpointIsRefused() throws {
        let bytes = Array(Self.signedReferenceCheckpoint.utf8)
        let verifier = try NoteVerifier(verifierKey: AttestationTests.directoryVerifierKey)
        #expect(try SignedCheckpoint(verifying: Self.signedReferenceCheckpoint, verifier: verifier).checkpoint.size == 8)
        for position in bytes.indices {
            for bit in 0..<8 {
                var tampered = bytes
                tampered[position] ^= UInt8(1 << bit)
                let accepted: Bool
                if let text = String(validating: tampered, as: UTF8.self) {
                    accepted = (try? SignedCheckpoint(verifying: text, verifier: verifier)) != nil
                } else {
                    accepted = (try? SignedNote(parsing: tampered)) != nil
                }
                #expect(!accepted, "byte \(position) bit \(bit)")
            }
        }
    }

    @Test func extensionLinesAreKept() throws {
        let text = "log.example\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nextension one\nextension two\n"
        let checkpoint = try Checkpoint(text: text)
        #expect(checkpoint.extensions == ["extension one", "extension two"])
        #expect(checkpoint.text == text)
        // Lines are split on the newline byte, whatever follows it.
        let combining = try Checkpoint(text: "log.example\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\u{301}x\n")
        #expect(combining.size == 8 && combining.extensions == ["\u{301}x"])
    }

    @Test func malformedTextsAreRefused() {
        let root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
        let bad = [
            "log.example\n8\n\(root)",  // no final newline
            "log.example\n8\n",  // two lines
            "\n8\n\(root)\n",  // empty origin
            "log example\n8\n\(root)\n",  // a space in the origin
            "log.example\n08\n\(root)\n",  // leading zero
            "log.example\n+8\n\(root)\n",
            "log.example\n-1\n\(root)\n",
            "log.example\n 8\n\(root)\n",
            "log.example\n8.0\n\(root)\n",
            "log.example\n18446744073709551616\n\(root)\n",  // 2^64
            "log.example\n9223372036854775808\n\(root)\n",  // 2^63, over the limit
            "log.example\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy\n",  // unpadded
            "log.example\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n",  // non-canonical
            "log.example\n8\nAAAA\n",  // not 32 bytes
            "log.example\n8\n\(root)\n\n",  // an empty extension line
            "log.example\n0\n\(root)\n",  // an empty tree with another root
            "log.example\r\n8\r\n\(root)\r\n",  // CRLF
        ]
        for text in bad {
            #expect(throws: NoteError.self, "\(text.debugDescription)") { try Checkpoint(text: text) }
        }
    }

    @Test func anEmptyLogHasTheEmptyRoot() throws {
        let checkpoint = try InMemoryTransparencyLog().checkpoint(origin: "log.example")
        #expect(checkpoint.size == 0)
        #expect(checkpoint.text == "log.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    }

    @Test func signedCheckpointVerifiesUnderThePinnedKeyOnly() throws {
        let log = try MerkleVectorTests.referenceLog()
        let key = TestKeys.directory
        let signed = try key.sign(try log.checkpoint(origin: key.name))
        let pinned = try NoteVerifier(verifierKey: key.verifier.verifierKey)
        let verified = try SignedCheckpoint(verifying: signed.serialized, verifier: pinned)
        #expect(verified.checkpoint.size == 8)
        #expect(verified.checkpoint.rootHash == Self.referenceRoot)
        // Another key with the same name: its key ID differs, so the signature is unknown.
        #expect(throws: NoteError.noSignatureFromKnownKey(keyName: key.name)) {
            try SignedCheckpoint(verifying: signed.serialized, verifier: TestKeys.otherDirectory.verifier)
        }
        // The root changed after signing.
        let forged = signed.serialized.replacingOccurrences(of: "Xcna", with: "Ycna")
        #expect(throws: NoteError.invalidSignature(keyName: key.name)) { try SignedCheckpoint(verifying: forged, verifier: pinned) }
        // A checkpoint of another origin, even one signed by the pinned key, is not this log's.
        let elsewhere = key.signNote(text: try Checkpoint(origin: "other.example", size: 8, rootHash: Self.referenceRoot).text)
        #expect(throws: NoteError.unexpectedOrigin(expected: key.name, actual: "other.example")) {
            try SignedCheckpoint(verifying: elsewhere.serialized, verifier: pinned)
        }
        #expect(throws: NoteError.unexpectedOrigin(expected: key.name, actual: "other.example")) {
            try key.sign(Checkpoint(origin: "other.example", size: 8, rootHash: Self.referenceRoot))
        }
    }

    @Test func aSignedCheckpointKeepsWitnessCosignaturesItDoesNotKnow() throws {
        let key = TestKeys.directory
        let signed = try key.sign(try MerkleVectorTests.referenceLog().checkpoint(origin: key.name))
        let witness = TestKeys.otherDirectory
        let cosigned = signed.serialized + witness.signNote(text: signed.checkpoint.text).signatures[0].line
        let verified = try SignedCheckpoint(verifying: cosigned, verifier: key.verifier)
        #expect(verified.note.signatures.count == 2)
    }
}
