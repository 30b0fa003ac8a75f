import Foundation
import ProtonCore
import ProtonDirectory
import ProtonServices

/// Moves the client's view of one directory's log forward: every new signed checkpoint must be
/// from the pinned key and must extend the stored one (a consistency proof the directory
/// serves, checked by `Audit.check`). A checkpoint that does not is a fork or a rollback: the
/// stored checkpoint stays, both notes are kept as evidence, and the caller is told loudly.
struct DirectoryAuditor {
    let client: DirectoryClient
    let now: Date

    enum Outcome {
        case first(Checkpoint)
        case unchanged(Checkpoint)
        case extended(from: UInt64, to: Checkpoint)
        /// The new checkpoint is older than the stored one but consistent with it.
        case behind(Checkpoint)
    }

    struct Misbehaviour: Error {
        let directory: String
        let summary: String
        let detail: String
    }

    /// Verifies `note` under the pinned key and reconciles it with the stored checkpoint.
    /// Updates `pinned` (checkpoint or evidence).
    func accept(_ note: String, into pinned: inout DirectoryState.Pinned) async throws -> Outcome {
        let verifier = try pinned.verifier()
        let new: SignedCheckpoint
        do { new = try SignedCheckpoint(verifying: note, verifier: verifier) } catch {
            throw Misbehaviour(
                directory: pinned.url, summary: "a checkpoint that does not verify under the pinned key",
                detail: "\(error). Either the directory changed its key or someone between you and it altered the answer.")
        }
        guard let storedNote = pinned.checkpoint, let stored = try pinned.storedCheckpoint() else {
            pinned.checkpoint = new.serialized
            pinned.checkpointSeen = now
            return .first(new.checkpoint)
        }
        if new.checkpoint.size < stored.size {
            // An older tree is fine only if our stored tree extends it.
            let proof = try await proof(from: new.checkpoint.size, to: stored.size)
            let reverse = Audit.check(stored: new.checkpoint, new: stored, proof: proof)
            guard reverse.isConsistent else {
                throw misbehaviour(.rollback(storedSize: stored.size, newSize: new.checkpoint.size), storedNote, note, &pinned)
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
            pinned.checkpoint = new.serialized
            pinned.checkpointSeen = now
            return .extended(from: from, to: new.checkpoint)
        default:
            throw misbehaviour(result, storedNote, note, &pinned)
        }
    }

    /// A proof the directory would not give for sizes it signed is itself a failure to prove
    /// consistency: an empty proof is checked instead, which fails unless nothing is needed.
    private func proof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        do { return try await client.consistencyProof(from: from, to: to) } catch .refused, .invalidResponse {
            return []
        }
    }

    private func misbehaviour(_ result: Audit.Result, _ storedNote: String, _ newNote: String, _ pinned: inout DirectoryState.Pinned)
        -> Misbehaviour
    {
        let (summary, detail): (String, String)
        switch result {
        case .fork(.sameSizeDifferentRoots(let size, let stored, let new)):
            summary = "FORK: two different trees of the same size \(size)"
            detail =
                "It signed root \(Data(stored).base64EncodedString()) earlier and \(Data(new).base64EncodedString()) now; one log cannot have both."
        case .fork(.inconsistent(let from, let to, let error)):
            summary = "FORK: the tree of size \(to) does not extend the tree of size \(from) you saw"
            detail = "Its consistency proof fails (\(error)): it rewrote or dropped entries it had already published."
        case .rollback(let storedSize, let newSize):
            summary = "ROLLBACK: it now shows a tree of size \(newSize), smaller than the \(storedSize) it signed before"
            detail = "And the older tree is not a prefix of what you saw."
        case .differentLog(let stored, let new):
            summary = "a checkpoint of another log (\(new), not \(stored))"
            detail = "The pinned key signed a different origin."
        default:
            summary = "an inconsistent checkpoint"
            detail = "\(result)"
        }
        pinned.evidence.append(ForkEvidenceBuilder.make(summary, storedNote, newNote, now))
        if pinned.evidence.count > DirectoryState.maximumEvidence { pinned.evidence.removeFirst() }
        return Misbehaviour(directory: pinned.url, summary: summary, detail: detail)
    }
}

enum ForkEvidenceBuilder {
    static func make(_ reason: String, _ stored: String, _ new: String, _ now: Date) -> DirectoryState.ForkEvidence {
        DirectoryState.ForkEvidence(detected: now, reason: reason, stored: stored, new: new)
    }
}

extension DirectoryAuditor.Misbehaviour {
    /// Several lines on stderr, impossible to miss, then the exit status for it.
    func report() {
        let lines = [
            "",
            "!!! proton: DIRECTORY MISBEHAVIOUR at \(directory)",
            "!!! \(summary).",
            "!!! \(detail)",
            "!!! Both signed checkpoints are kept as evidence in \(DirectoryState.fileName); the stored checkpoint was not replaced.",
            "!!! Do not trust names from this directory until this is explained.",
            "",
        ]
        FileHandle.standardError.write(Data(lines.map(TerminalText.line).joined(separator: "\n").utf8))
    }
}

extension ExitStatus {
    /// 76, EX_PROTOCOL: a directory broke its promises (a forked or rolled-back log, an answer
    /// that does not verify under the pinned key).
    static var directoryMisbehaved: ExitStatus { ExitStatus(rawValue: 76) ?? .software }
}
