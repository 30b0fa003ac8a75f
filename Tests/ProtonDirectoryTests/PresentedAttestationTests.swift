import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonDirectory

/// A bundle someone presents for their own key (in an invite or a pairing): only one that the
/// pinned directory signed, that is in its signed log, that is valid now and that binds the
/// presenter's key is accepted; everything else is a typed refusal.
struct PresentedAttestationTests {
    static func pinned(_ namespace: String) -> NoteVerifier? { namespace == "example.org" ? TestKeys.directory.verifier : nil }

    static func check(_ bytes: [UInt8], by key: Ed25519.PublicKey = TestKeys.alice.publicKey, now: Date = testNow)
        -> Result<String, PresentedAttestationError>
    {
        do {
            let (bundle, _) = try AttestationBundle.verifyPresented(bytes, by: key, now: now, pinnedKey: pinned)
            return .success(bundle.attestation.qualifiedName)
        } catch {
            return .failure(error)
        }
    }

    @Test func theHoldersOwnAttestationVerifies() throws {
        let (bundle, _) = try AttestationTests.bundle()
        #expect(try Self.check(bundle.encoded()).get() == "alice@example.org")
    }

    @Test func anAttestationOfAnotherKeyIsRefused() throws {
        let (bundle, _) = try AttestationTests.bundle()
        #expect(Self.check(bundle.encoded(), by: TestKeys.bob.publicKey) == .failure(.otherKey(attested: TestKeys.alice.publicKey, presenter: TestKeys.bob.publicKey)))
    }

    @Test func anAttestationFromAnUnpinnedNamespaceIsRefused() throws {
        let statement = try Attestation(
            kind: .attestation, namespace: "example.net", name: "alice", identityKey: TestKeys.alice.publicKey,
            issued: AttestationTests.issued, expires: AttestationTests.expires, logIndex: 5, signedBy: TestKeys.directory)
        let (bundle, _) = try AttestationTests.bundle(for: statement)
        #expect(Self.check(bundle.encoded()) == .failure(.unknownDirectory(namespace: "example.net")))
    }

    @Test func anAttestationSignedByAnotherDirectoryKeyIsRefused() throws {
        // Same name and origin, a key the receiver never pinned: a forgery.
        let forged = try Attestation(
            kind: .attestation, namespace: "example.org", name: "alice", identityKey: TestKeys.bob.publicKey,
            issued: AttestationTests.issued, expires: AttestationTests.expires, logIndex: 5, signedBy: TestKeys.otherDirectory)
        let log = InMemoryTransparencyLog()
        try log.append((0..<5).map { Array("filler \($0)".utf8) } + [forged.encoded()])
        let checkpoint = try TestKeys.otherDirectory.sign(try log.checkpoint(origin: TestKeys.directoryName))
        let bundle = AttestationBundle(attestation: forged, proof: try log.inclusionProof(index: 5, size: 6), checkpoint: checkpoint)
        guard case .failure(.invalid) = Self.check(bundle.encoded(), by: TestKeys.bob.publicKey) else {
            Issue.record("a bundle under another directory key verified")
            return
        }
    }

    @Test func anExpiredAttestationIsRefused() throws {
        let (bundle, _) = try AttestationTests.bundle()
        let later = AttestationTests.expires.addingTimeInterval(1)
        #expect(Self.check(bundle.encoded(), now: later) == .failure(.invalid(.expired(expires: AttestationTests.expires, now: later))))
    }

    @Test func everyFlippedByteIsRefusedOrStillTheSameAttestation() throws {
        let (bundle, _) = try AttestationTests.bundle()
        let bytes = bundle.encoded()
        for index in bytes.indices {
            var tampered = bytes
            tampered[index] ^= 0x40
            if case .success = Self.check(tampered) { Issue.record("byte \(index) flipped still verified") }
        }
    }

    @Test func oversizedAndMalformedBytesAreTypedRefusals() throws {
        let over = [UInt8](repeating: 0x09, count: AttestationBundle.maximumByteCount + 1)
        #expect(Self.check(over) == .failure(.oversized(limit: AttestationBundle.maximumByteCount, actual: over.count)))
        #expect(Self.check([]) == .failure(.malformed(.truncated(field: "format tag"))))
        #expect(Self.check(Array("alex@example.org attestation".utf8)) == .failure(.malformed(.unexpectedFormat(expected: .attestationBundle, actual: 0x61))))
        let (bundle, _) = try AttestationTests.bundle()
        let bytes = bundle.encoded()
        for length in 0..<bytes.count {
            guard case .failure(.malformed) = Self.check(Array(bytes.prefix(length))) else {
                Issue.record("a bundle cut to \(length) bytes was not refused as malformed")
                continue
            }
        }
    }
}
