import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// Moves the client's view of one directory's log forward: every new signed checkpoint must be
/// from the pinned key and must extend the stored one (a consistency proof the directory
/// serves, checked by `Audit.check`). A checkpoint that does not is a fork or a rollback: the
/// stored checkpoint stays, both notes are kept as evidence, and the caller is told loudly.
public struct DirectoryAuditor: Sendable {
    public let client: DirectoryClient
    public let now: Date
    /// Whether a proof answered with "too many requests" counts as a proof that fails (for a
    /// checkpoint whose proof the directory has put off too often), not as "ask again later".
    public let refusalFails: Bool

    public init(client: DirectoryClient, now: Date, refusalFails: Bool = false) {
        self.client = client
        self.now = now
        self.refusalFails = refusalFails
    }

    public enum Outcome: Sendable {
        case first(Checkpoint)
        case unchanged(Checkpoint)
        case extended(from: UInt64, to: Checkpoint)
        /// The new checkpoint is older than the stored one but consistent with it.
        case behind(Checkpoint)
    }

    /// A directory caught breaking its promises, with the evidence kept in the profile.
    public struct Misbehaviour: Error, Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Two trees that cannot both be the log: the same size with different roots, or a
            /// larger tree whose consistency proof fails.
            case fork
            /// An older tree that is not a prefix of the stored one.
            case rollback
            /// A checkpoint of another log under the pinned key.
            case differentLog
            /// A checkpoint that does not verify under the pinned key.
            case badSignature
        }

        public let directory: String
        public let kind: Kind
        public let summary: String
        public let detail: String
        /// Both signed checkpoints, as stored in the profile (nil for a bad signature, where
        /// there is nothing signed by the pinned key to keep).
        public let evidence: DirectoryTrust.ForkEvidence?
    }

    /// Verifies `note` under the pinned key and reconciles it with the stored checkpoint.
    /// Updates `pinned` (checkpoint or evidence). `attestation`: the bundle (base64url) the note
    /// came in, when someone other than the directory presented it, kept with any evidence.
    /// `gossipedBy`: the relationship whose contact gossiped the note; its consistency is
    /// checked whatever its cosignatures, but it replaces the stored checkpoint only when they
    /// meet the policy's quorum (a contact with another policy may hold fewer).
    public func accept(_ note: String, into pinned: inout DirectoryTrust.Pinned, attestation: String? = nil, gossipedBy: String? = nil)
        async throws(DirectoryError) -> Outcome
    {
        let verifier = try pinned.verifier()
        let new: SignedCheckpoint
        do { new = try SignedCheckpoint(verifying: note, verifier: verifier) } catch {
            throw .forked(
                Misbehaviour(
                    directory: pinned.url, kind: .badSignature, summary: "a checkpoint that does not verify under the pinned key",
                    detail: "\(error). Either the directory changed its key or someone between you and it altered the answer.", evidence: nil))
        }
        // Two trees of one size signed by the pinned key prove a fork on their own, with or
        // without cosignatures: kept before the quorum refuses the new one.
        if let storedNote = pinned.checkpoint, let stored = try pinned.storedCheckpoint(), stored.size == new.checkpoint.size,
            stored.rootHash != new.checkpoint.rootHash
        {
            throw .forked(
                misbehaviour(
                    .fork(.sameSizeDifferentRoots(size: stored.size, stored: stored.rootHash, new: new.checkpoint.rootHash)), storedNote, note,
                    proof: [], attestation: attestation, gossipedBy: gossipedBy, &pinned))
        }
        var adoptable = true
        do throws(DirectoryError) { try pinned.requireQuorum(new.note, size: new.checkpoint.size) } catch {
            guard gossipedBy != nil else { throw error }
            adoptable = false
        }
        guard let storedNote = pinned.checkpoint, let stored = try pinned.storedCheckpoint() else {
            // Gossip never becomes the baseline: the directory's own checkpoint comes first.
            guard gossipedBy == nil else {
                throw .damaged(what: "the trust state of \(pinned.url)", reason: "a gossiped checkpoint was weighed before any checkpoint of the directory's own")
            }
            pinned.checkpoint = new.serialized
            pinned.checkpointSeen = now
            return .first(new.checkpoint)
        }
        if new.checkpoint.size < stored.size {
            // An older tree is fine only if our stored tree extends it.
            let proof = try await proof(from: new.checkpoint.size, to: stored.size)
            let reverse = Audit.check(stored: new.checkpoint, new: stored, proof: proof)
            guard reverse.isConsistent else {
                throw .forked(
                    misbehaviour(
                        .rollback(storedSize: stored.size, newSize: new.checkpoint.size), storedNote, note, proof: proof, attestation: attestation,
                        gossipedBy: gossipedBy, &pinned))
            }
            return .behind(new.checkpoint)
        }
        let proof = new.checkpoint.size > stored.size ? try await proof(from: stored.size, to: new.checkpoint.size) : []
        let result = Audit.check(stored: stored, new: new.checkpoint, proof: proof)
        switch result {
        case .unchanged:
            pinned.checkpointSeen = now
            return .unchanged(stored)
        case .consistent(let from, _):
            guard adoptable else { return .extended(from: from, to: new.checkpoint) }
            pinned.checkpoint = new.serialized
            pinned.checkpointSeen = now
            return .extended(from: from, to: new.checkpoint)
        default:
            throw .forked(misbehaviour(result, storedNote, note, proof: proof, attestation: attestation, gossipedBy: gossipedBy, &pinned))
        }
    }

    /// A proof the directory would not give for sizes it signed is itself a failure to prove
    /// consistency: an empty proof is checked instead, which fails unless nothing is needed.
    private func proof(from: UInt64, to: UInt64) async throws(DirectoryError) -> [[UInt8]] {
        do { return try await client.consistencyProof(from: from, to: to) } catch {
            switch error {
            // Not reached, or asked to come back later: nothing is decided.
            case .unavailable: throw .client(error)
            case .refused(status: 429, _, _) where !refusalFails: throw .client(error)
            // A proof refused or malformed between sizes it signed: checked as an empty one,
            // which fails unless nothing is needed. The evidence this leaves does not prove
            // itself to others, so it is the first to go when evidence is trimmed.
            default: return []
            }
        }
    }

    private func misbehaviour(
        _ result: Audit.Result, _ storedNote: String, _ newNote: String, proof: [[UInt8]], attestation: String?, gossipedBy: String?,
        _ pinned: inout DirectoryTrust.Pinned
    ) -> Misbehaviour {
        let (kind, summary, detail): (Misbehaviour.Kind, String, String)
        switch result {
        case .fork(.sameSizeDifferentRoots(let size, let stored, let new)):
            kind = .fork
            summary = "FORK: two different trees of the same size \(size)"
            detail =
                "It signed root \(Data(stored).base64EncodedString()) earlier and \(Data(new).base64EncodedString()) now; one log cannot have both."
        case .fork(.inconsistent(let from, let to, let error)):
            kind = .fork
            summary = "FORK: the tree of size \(to) does not extend the tree of size \(from) you saw"
            detail = "Its consistency proof fails (\(error)): it rewrote or dropped entries it had already published."
        case .rollback(let storedSize, let newSize):
            kind = .rollback
            summary = "ROLLBACK: it now shows a tree of size \(newSize), smaller than the \(storedSize) it signed before"
            detail = "And the older tree is not a prefix of what you saw."
        case .differentLog(let stored, let new):
            kind = .differentLog
            summary = "a checkpoint of another log (\(new), not \(stored))"
            detail = "The pinned key signed a different origin."
        default:
            kind = .fork
            summary = "an inconsistent checkpoint"
            detail = "\(result)"
        }
        let evidence = DirectoryTrust.ForkEvidence(
            detected: now, reason: summary, stored: storedNote, new: newNote, proof: proof.isEmpty ? nil : proof.map(Base64URL.encode),
            attestation: attestation, gossipedBy: gossipedBy)
        if !pinned.evidence.contains(where: { $0.sameTrees(as: evidence) }) {
            pinned.evidence.append(evidence)
            DirectoryTrust.trimEvidence(&pinned.evidence)
        }
        return Misbehaviour(directory: pinned.url, kind: kind, summary: summary, detail: detail, evidence: evidence)
    }
}

