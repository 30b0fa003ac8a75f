import Foundation
import ProtonCore
import ProtonCrypto

/// What a client needs to check an attestation offline (wire format 0x09,
/// docs/wire-format.md): the attestation, its inclusion proof, and the signed checkpoint the
/// proof leads to. The proof's leaf index is the attestation's log index and its tree size is
/// the checkpoint's size; neither is sent twice, so they cannot disagree.
public struct AttestationBundle: Sendable, Equatable {
    public static let maximumCheckpointByteCount = 2_048
    public static let maximumByteCount =
        2 + (2 + Attestation.maximumByteCount) + (1 + Merkle.maximumProofLength * Merkle.hashByteCount)
        + (2 + maximumCheckpointByteCount)

    public let attestation: Attestation
    public let proofHashes: [[UInt8]]
    /// The checkpoint's signed note, as the directory served it.
    public let checkpoint: String

    public init(attestation: Attestation, proof: InclusionProof, checkpoint: SignedCheckpoint) {
        self.attestation = attestation
        self.proofHashes = proof.hashes
        self.checkpoint = checkpoint.serialized
    }

    public func encoded() -> [UInt8] {
        let attestationBytes = attestation.encoded()
        let checkpointBytes = Array(checkpoint.utf8)
        var writer = WireWriter(format: .attestationBundle, capacity: 8 + attestationBytes.count + 32 * proofHashes.count + checkpointBytes.count)
        writer.medium(attestationBytes)
        writer.byte(UInt8(proofHashes.count))
        for hash in proofHashes { writer.fixed(hash) }
        writer.medium(checkpointBytes)
        return writer.bytes
    }

    /// Parses the structure (nothing is trusted until `verify`).
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .attestationBundle, maximumSize: Self.maximumByteCount)
        let attestation = try Attestation(decoding: try reader.medium("attestation", limit: Attestation.maximumByteCount))
        let count = Int(try reader.byte("proof hash count"))
        guard count <= Merkle.maximumProofLength else {
            throw .oversized(field: "proof hashes", limit: Merkle.maximumProofLength, actual: count)
        }
        var hashes = [[UInt8]]()
        for position in 0..<count { hashes.append(try reader.fixed(Merkle.hashByteCount, "proof hash \(position)")) }
        let checkpointBytes = try reader.medium("checkpoint", limit: Self.maximumCheckpointByteCount)
        try reader.finish()
        guard let checkpoint = String(validating: checkpointBytes, as: UTF8.self) else {
            throw .invalidValue(field: "checkpoint", reason: "not UTF-8")
        }
        self.attestation = attestation
        self.proofHashes = hashes
        self.checkpoint = checkpoint
    }

    /// Verifies everything against the pinned directory key, offline:
    /// 1. the checkpoint is a signed note from the pinned key, of the pinned log's origin;
    /// 2. the attestation's signature is the directory's and `now` is in its validity window;
    /// 3. it binds a key (an attestation or a key change, not a revocation);
    /// 4. its leaf hash, at its log index, is included in the checkpoint's tree (RFC 9162
    ///    section 2.1.3.2).
    /// Returns the verified checkpoint, which a client may feed to its audit.
    @discardableResult
    public func verify(directory: NoteVerifier, now: Date, origin: String? = nil) throws(AttestationError) -> Checkpoint {
        let signed: SignedCheckpoint
        do { signed = try SignedCheckpoint(verifying: checkpoint, verifier: directory, origin: origin) } catch {
            throw .checkpoint(error)
        }
        try attestation.verify(directory: directory, now: now)
        try verifyIncluded(in: signed.checkpoint, now: now)
        return signed.checkpoint
    }

    /// Steps 2 (the validity window), 3 and 4 against a checkpoint already verified.
    /// `BundleVerifier` calls it alone: inclusion under the signed root authenticates the leaf.
    func verifyIncluded(in checkpoint: Checkpoint, now: Date) throws(AttestationError) {
        guard now >= attestation.issued else { throw .notYetValid(issued: attestation.issued, now: now) }
        guard now < attestation.expires else { throw .expired(expires: attestation.expires, now: now) }
        guard attestation.kind != .revocation else { throw .notABinding(attestation.kind) }
        let proof = InclusionProof(leafIndex: attestation.logIndex, treeSize: checkpoint.size, hashes: proofHashes)
        do { try proof.verify(leafHash: attestation.leafHash, root: checkpoint.rootHash) } catch { throw .inclusion(error) }
    }

    /// Refuses a bundle that attests another key than `identityKey`.
    func requireBinding(_ identityKey: Ed25519.PublicKey) throws(PresentedAttestationError) {
        guard attestation.identityKey == identityKey else { throw .otherKey(attested: attestation.identityKey, presenter: identityKey) }
    }
}
