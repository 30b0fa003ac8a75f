import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonDirectory

/// Directory statements (format 0x08) and attestation bundles (0x09): the byte vector printed in
/// docs/wire-format.md, tampering, the validity window, the pinned key, and inclusion.
struct AttestationTests {
    static let issued = testNow
    static let expires = testNow.addingTimeInterval(365 * 86_400)

    /// alice@example.org → alice's key, log index 5, signed by the test directory key.
    static func vectorAttestation() throws -> Attestation {
        try Attestation(
            kind: .attestation, namespace: "example.org", name: "alice", identityKey: TestKeys.alice.publicKey,
            issued: issued, expires: expires, logIndex: 5, signedBy: TestKeys.directory)
    }

    /// docs/wire-format.md, "Attestation" (checked with OpenSSL's Ed25519 when written).
    static let vector = """
        0801010b6578616d706c652e6f726705616c696365eefc2a4e692c09aa759a1382598149c58c65d9d3f52da3d1d563af
        9ee4adb00e6b49d2006d2b05800000000000000005d8f6796600f202d50ca8ce3bde2290109dae25e42c9a4d88addf96
        d39a153bb5c651ce10068b0f74613039d7651b4d3e51f3687d84cdc76ae5bb1e930271b107
        """
    static let vectorLeafHash = "0798d54cb448cba85f1bb0ba1e4acb67192e4dac993f0c3850f02e017bddf8d6"
    static let directoryVerifierKey = "directory.example.org+42ecb517+AVoDM2rXBzvGUU/HaT5VtYtc1wA6HjGkwccA3kseQUIc"

    /// A log of ten leaves whose leaf 5 is the vector attestation, its checkpoint signed.
    static func bundle(for attestation: Attestation? = nil) throws -> (AttestationBundle, InMemoryTransparencyLog) {
        let log = InMemoryTransparencyLog()
        try log.append((0..<5).map { Array("filler \($0)".utf8) })
        let statement = try attestation ?? vectorAttestation()
        try log.append(building: { index in
            #expect(index == statement.logIndex)
            return [statement.encoded()]
        })
        try log.append((6..<10).map { Array("filler \($0)".utf8) })
        let checkpoint = try TestKeys.directory.sign(try log.checkpoint(origin: TestKeys.directoryName))
        let proof = try log.inclusionProof(index: statement.logIndex, size: checkpoint.checkpoint.size)
        return (AttestationBundle(attestation: statement, proof: proof, checkpoint: checkpoint), log)
    }

    @Test func attestationVectorIsReproducible() throws {
        let attestation = try Self.vectorAttestation()
        #expect(Hex.string(attestation.encoded()) == Hex.normalized(Self.vector))
        #expect(Hex.string(attestation.leafHash) == Self.vectorLeafHash)
        #expect(TestKeys.directory.verifier.verifierKey == Self.directoryVerifierKey)
    }

    @Test func attestationVectorDecodesAndVerifiesUnderThePinnedKey() throws {
        let bytes = Hex.bytes(Self.vector)
        #expect(bytes.count == 133)
        let decoded = try Attestation(decoding: bytes)
        #expect(decoded.kind == .attestation)
        #expect(decoded.qualifiedName == "alice@example.org")
        #expect(decoded.identityKey == TestKeys.alice.publicKey)
        #expect(decoded.previousKey == nil)
        #expect(decoded.issued == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(decoded.expires == Date(timeIntervalSince1970: 1_831_536_000))
        #expect(decoded.logIndex == 5)
        try decoded.verify(directory: NoteVerifier(verifierKey: Self.directoryVerifierKey), now: testNow)
        // The signature covers every byte before it.
        #expect(TestKeys.directory.publicKey.isValidSignature(Array(bytes.suffix(64)), for: Array(bytes.prefix(69))))
    }

    /// docs/wire-format.md prints the vector; a change to one without the other fails here.
    @Test func wireFormatDocumentPrintsTheAttestationVector() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/wire-format.md")
        let document = try String(contentsOf: url, encoding: .utf8)
        let compact = String(document.filter { !$0.isWhitespace }).lowercased()
        #expect(compact.contains(Hex.normalized(Self.vector)), "docs/wire-format.md does not print the attestation vector")
        #expect(compact.contains(Self.vectorLeafHash))
        #expect(document.contains(Self.directoryVerifierKey))
        #expect(document.contains("at most **\(Attestation.maximumByteCount)** bytes"))
        #expect(document.contains("At most **4,569** bytes") && AttestationBundle.maximumByteCount == 4_569)
    }

    @Test func encodingRoundTripsAndVerifies() throws {
        let attestation = try Self.vectorAttestation()
        let decoded = try Attestation(decoding: attestation.encoded())
        #expect(decoded == attestation)
        #expect(decoded.qualifiedName == "alice@example.org")
        try decoded.verify(directory: TestKeys.directory.verifier, now: testNow)
    }

    @Test func keyChangesAndRevocationsAreStatementsToo() throws {
        let change = try Attestation(
            kind: .keyChange, namespace: "example.org", name: "alice", identityKey: TestKeys.bob.publicKey,
            previousKey: TestKeys.alice.publicKey, issued: Self.issued, expires: Self.expires, logIndex: 9, signedBy: TestKeys.directory)
        #expect(try Attestation(decoding: change.encoded()) == change)
        #expect(change.encoded().count == (try Self.vectorAttestation()).encoded().count + 32)
        let revocation = try Attestation(
            kind: .revocation, namespace: "example.org", name: "alice", identityKey: TestKeys.alice.publicKey,
            issued: Self.issued, expires: Self.expires, logIndex: 10, signedBy: TestKeys.directory)
        #expect(try Attestation(decoding: revocation.encoded()) == revocation)
        try revocation.verify(directory: TestKeys.directory.verifier, now: testNow)
        // Only a key change names a previous key.
        #expect(throws: WireError.self) {
            try Attestation(
                kind: .attestation, namespace: "example.org", name: "alice", identityKey: TestKeys.bob.publicKey,
                previousKey: TestKeys.alice.publicKey, issued: Self.issued, expires: Self.expires, logIndex: 0, signedBy: TestKeys.directory)
        }
        #expect(throws: WireError.self) {
            try Attestation(
                kind: .keyChange, namespace: "example.org", name: "alice", identityKey: TestKeys.bob.publicKey,
                issued: Self.issued, expires: Self.expires, logIndex: 0, signedBy: TestKeys.directory)
        }
        // A revocation in a bundle does not attest anything.
        let (bundle, _) = try Self.bundle(for: try Attestation(
            kind: .revocation, namespace: "example.org", name: "alice", identityKey: TestKeys.alice.publicKey,
            issued: Self.issued, expires: Self.expires, logIndex: 5, signedBy: TestKeys.directory))
        #expect(throws: AttestationError.notABinding(.revocation)) { try bundle.verify(directory: TestKeys.directory.verifier, now: testNow) }
    }

    @Test func namesAndNamespacesAreValidated() throws {
        for (namespace, name) in [
            ("Example.org", "alice"), ("example..org", "alice"), (".example.org", "alice"), ("-a.org", "alice"),
            ("example.org", "Alice"), ("example.org", ""), ("example.org", "al ice"), ("example.org", "alice@x"),
            ("example.org", String(repeating: "a", count: 65)), (String(repeating: "a", count: 64) + ".org", "alice"),
        ] {
            #expect(throws: WireError.self, "\(name)@\(namespace)") {
                try Attestation(
                    kind: .attestation, namespace: namespace, name: name, identityKey: TestKeys.alice.publicKey,
                    issued: Self.issued, expires: Self.expires, logIndex: 0, signedBy: TestKeys.directory)
            }
        }
        #expect(throws: WireError.self) {
            try Attestation(
                kind: .attestation, namespace: "example.org", name: "alice", identityKey: TestKeys.alice.publicKey,
                issued: Self.issued, expires: Self.issued, logIndex: 0, signedBy: TestKeys.directory)
        }
    }

    @Test func validityWindowIsIssuedUpToExpires() throws {
        let attestation = try Self.vectorAttestation()
        let directory = TestKeys.directory.verifier
        try attestation.verify(directory: directory, now: Self.issued)
        try attestation.verify(directory: directory, now: Self.expires.addingTimeInterval(-1))
        #expect(throws: AttestationError.expired(expires: Self.expires, now: Self.expires)) {
            try attestation.verify(directory: directory, now: Self.expires)
        }
        let early = Self.issued.addingTimeInterval(-1)
        #expect(throws: AttestationError.notYetValid(issued: Self.issued, now: early)) { try attestation.verify(directory: directory, now: early) }
    }

    @Test func anotherDirectoryKeyIsRefused() throws {
        let attestation = try Self.vectorAttestation()
        #expect(throws: AttestationError.invalidSignature) { try attestation.verify(directory: TestKeys.otherDirectory.verifier, now: testNow) }
        let (bundle, _) = try Self.bundle()
        #expect(throws: AttestationError.checkpoint(.noSignatureFromKnownKey(keyName: TestKeys.directoryName))) {
            try bundle.verify(directory: TestKeys.otherDirectory.verifier, now: testNow)
        }
    }

    /// Every bit of the encoding matters: a flip anywhere is refused by the parser or by the
    /// signature.
    @Test func everyFlippedBitIsRefused() throws {
        let bytes = try Self.vectorAttestation().encoded()
        for position in bytes.indices {
            for bit in 0..<8 {
                var tampered = bytes
                tampered[position] ^= UInt8(1 << bit)
                let refused: Bool
                do {
                    try Attestation(decoding: tampered).verify(directory: TestKeys.directory.verifier, now: testNow)
                    refused = false
                } catch {
                    refused = true
                }
                #expect(refused, "byte \(position) bit \(bit)")
            }
        }
    }

    @Test func parserRefusesTruncationTrailingBytesAndUnknownVersions() throws {
        let bytes = try Self.vectorAttestation().encoded()
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix \(length)") { try Attestation(decoding: Array(bytes.prefix(length))) }
        }
        #expect(throws: WireError.trailingBytes(count: 1)) { try Attestation(decoding: bytes + [0]) }
        var version = bytes
        version[1] = 2
        #expect(throws: WireError.unknownVersion(format: .attestation, version: 2)) { try Attestation(decoding: version) }
        var kind = bytes
        kind[2] = 4
        #expect(throws: WireError.invalidValue(field: "kind", reason: "unknown kind 4")) { try Attestation(decoding: kind) }
        var tag = bytes
        tag[0] = 0x01
        #expect(throws: WireError.unexpectedFormat(expected: .attestation, actual: 0x01)) { try Attestation(decoding: tag) }
        let oversized = [UInt8](repeating: 0, count: Attestation.maximumByteCount + 1)
        #expect(throws: WireError.oversized(field: "attestation", limit: Attestation.maximumByteCount, actual: oversized.count)) {
            try Attestation(decoding: oversized)
        }
    }

    // MARK: - Bundles

    @Test func bundleVerifiesOfflineAndRoundTrips() throws {
        let (bundle, log) = try Self.bundle()
        let pinned = try NoteVerifier(verifierKey: TestKeys.directory.verifier.verifierKey)
        let checkpoint = try bundle.verify(directory: pinned, now: testNow)
        #expect(checkpoint.size == 10)
        #expect(checkpoint.rootHash == (try log.root(size: 10)))
        let decoded = try AttestationBundle(decoding: bundle.encoded())
        #expect(decoded == bundle)
        try decoded.verify(directory: pinned, now: testNow)
    }

    @Test func bundleWithAWrongProofOrCheckpointIsRefused() throws {
        let (bundle, log) = try Self.bundle()
        let directory = TestKeys.directory.verifier
        let signed = try SignedCheckpoint(verifying: bundle.checkpoint, verifier: directory)
        // The proof of another leaf.
        let otherProof = try log.inclusionProof(index: 4, size: 10)
        let wrongLeaf = AttestationBundle(attestation: bundle.attestation, proof: otherProof, checkpoint: signed)
        #expect(throws: AttestationError.inclusion(.rootMismatch)) { try wrongLeaf.verify(directory: directory, now: testNow) }
        // A checkpoint of a tree that does not hold the leaf yet.
        let smaller = try TestKeys.directory.sign(Checkpoint(origin: TestKeys.directoryName, size: 5, rootHash: log.root(size: 5)))
        let early = AttestationBundle(attestation: bundle.attestation, proof: InclusionProof(leafIndex: 5, treeSize: 5, hashes: []), checkpoint: smaller)
        #expect(throws: AttestationError.inclusion(.leafIndexOutOfRange(index: 5, treeSize: 5))) { try early.verify(directory: directory, now: testNow) }
        // A statement that claims another index than the one it was logged at.
        let moved = try Attestation(
            kind: .attestation, namespace: "example.org", name: "alice", identityKey: TestKeys.alice.publicKey,
            issued: Self.issued, expires: Self.expires, logIndex: 6, signedBy: TestKeys.directory)
        let proof6 = try log.inclusionProof(index: 6, size: 10)
        #expect(throws: AttestationError.inclusion(.rootMismatch)) {
            try AttestationBundle(attestation: moved, proof: proof6, checkpoint: signed).verify(directory: directory, now: testNow)
        }
        // Expired, even with a good proof.
        #expect(throws: AttestationError.expired(expires: Self.expires, now: Self.expires)) { try bundle.verify(directory: directory, now: Self.expires) }
    }

    @Test func everyFlippedBitOfABundleIsRefused() throws {
        let (bundle, _) = try Self.bundle()
        let bytes = bundle.encoded()
        for position in bytes.indices {
            var tampered = bytes
            tampered[position] ^= 0x04
            let refused: Bool
            do {
                try AttestationBundle(decoding: tampered).verify(directory: TestKeys.directory.verifier, now: testNow)
                refused = false
            } catch {
                refused = true
            }
            #expect(refused, "byte \(position)")
        }
        for length in 0..<bytes.count {
            #expect(throws: WireError.self) { try AttestationBundle(decoding: Array(bytes.prefix(length))) }
        }
        #expect(throws: WireError.trailingBytes(count: 2)) { try AttestationBundle(decoding: bytes + [0, 0]) }
    }
}
