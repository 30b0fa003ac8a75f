import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonDirectory

/// `BundleVerifier`: many bundles against one pinned directory, each checkpoint's signature
/// verified once. It must refuse everything `AttestationBundle.verify` refuses.
struct BundleVerifierTests {
    @Test func acceptsWhatBundleVerifyAcceptsWithTheSameCheckpoint() throws {
        let (bundle, _) = try AttestationTests.bundle()
        var verifier = BundleVerifier(directory: TestKeys.directory.verifier)
        let expected = try bundle.verify(directory: TestKeys.directory.verifier, now: testNow)
        #expect(try verifier.verify(bundle, now: testNow) == expected)
        // The second time the checkpoint comes from the cache; the attestation is still checked.
        #expect(try verifier.verify(bundle, now: testNow) == expected)
        #expect(throws: AttestationError.expired(expires: AttestationTests.expires, now: AttestationTests.expires)) {
            try verifier.verify(bundle, now: AttestationTests.expires)
        }
    }

    @Test func everyFlippedBitIsRefusedEvenWithTheCheckpointCached() throws {
        let (bundle, _) = try AttestationTests.bundle()
        var verifier = BundleVerifier(directory: TestKeys.directory.verifier)
        try verifier.verify(bundle, now: testNow)
        let bytes = bundle.encoded()
        for position in bytes.indices {
            var tampered = bytes
            tampered[position] ^= 0x04
            let refused: Bool
            do {
                try verifier.verify(try AttestationBundle(decoding: tampered), now: testNow)
                refused = false
            } catch {
                refused = true
            }
            #expect(refused, "byte \(position)")
        }
    }

    @Test func refusesAnotherDirectoryWrongProofsAndRevocations() throws {
        let (bundle, log) = try AttestationTests.bundle()
        var other = BundleVerifier(directory: TestKeys.otherDirectory.verifier)
        #expect(throws: AttestationError.self) { try other.verify(bundle, now: testNow) }

        var verifier = BundleVerifier(directory: TestKeys.directory.verifier)
        let signed = try SignedCheckpoint(verifying: bundle.checkpoint, verifier: TestKeys.directory.verifier)
        let wrongLeaf = AttestationBundle(attestation: bundle.attestation, proof: try log.inclusionProof(index: 4, size: 10), checkpoint: signed)
        #expect(throws: AttestationError.inclusion(.rootMismatch)) { try verifier.verify(wrongLeaf, now: testNow) }
        // A statement the directory signed but never logged does not verify on its signature.
        let unlogged = try Attestation(
            kind: .attestation, namespace: "example.org", name: "mallory", identityKey: TestKeys.bob.publicKey,
            issued: AttestationTests.issued, expires: AttestationTests.expires, logIndex: 5, signedBy: TestKeys.directory)
        let forged = AttestationBundle(attestation: unlogged, proof: try log.inclusionProof(index: 5, size: 10), checkpoint: signed)
        #expect(throws: AttestationError.inclusion(.rootMismatch)) { try verifier.verify(forged, now: testNow) }

        let revocation = try Attestation(
            kind: .revocation, namespace: "example.org", name: "alice", identityKey: TestKeys.alice.publicKey,
            issued: AttestationTests.issued, expires: AttestationTests.expires, logIndex: 5, signedBy: TestKeys.directory)
        let (revoked, _) = try AttestationTests.bundle(for: revocation)
        #expect(throws: AttestationError.notABinding(.revocation)) { try verifier.verify(revoked, now: testNow) }
    }

    @Test func keepsWorkingPastItsCacheBound() throws {
        let log = InMemoryTransparencyLog()
        let statement = try AttestationTests.vectorAttestation()
        try log.append((0..<5).map { Array("filler \($0)".utf8) })
        try log.append([statement.encoded()])
        var verifier = BundleVerifier(directory: TestKeys.directory.verifier)
        // A bundle against each of 100 growing trees: every one verifies, the cache stays bounded.
        for size in 6...105 {
            if size > 6 { try log.append([Array("more \(size)".utf8)]) }
            let checkpoint = try TestKeys.directory.sign(try log.checkpoint(origin: TestKeys.directoryName))
            let bundle = AttestationBundle(attestation: statement, proof: try log.inclusionProof(index: 5, size: UInt64(size)), checkpoint: checkpoint)
            #expect(try verifier.verify(bundle, now: testNow).size == UInt64(size))
        }
    }
}
