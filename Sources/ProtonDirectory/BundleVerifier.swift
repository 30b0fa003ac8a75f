import Foundation
import ProtonCore
import ProtonCrypto

/// Verifies many attestation bundles from one pinned directory — a contact list, a batch a
/// monitor checks — verifying each distinct signed checkpoint once.
///
/// A bundle's attestation is then accepted on its inclusion proof: the directory's signature on
/// the checkpoint commits to the root of a tree whose every leaf the directory appended itself,
/// so a leaf proven included under a verified root is the directory's statement, byte for byte
/// (RFC 9162 section 2.1.3.2; as with Certificate Transparency, where an inclusion proof under a
/// signed tree head stands without the entry's own timestamp signature). The attestation's own
/// signature is what lets it be checked without the log (`Attestation.verify`), and
/// `AttestationBundle.verify` still checks both. The outcome is the same as
/// `AttestationBundle.verify`'s for every bundle: same checkpoint, same refusals, except that an
/// included leaf whose own signature were bad is accepted (only the directory's key could have
/// put it in the log).
public struct BundleVerifier: Sendable {
    /// How many verified checkpoints are kept (a directory serves one per log size).
    public static let maximumCachedCheckpoints = 64

    public let directory: NoteVerifier
    public let origin: String?
    private var verified: [String: Checkpoint] = [:]
    private var order: [String] = []

    public init(directory: NoteVerifier, origin: String? = nil) {
        self.directory = directory
        self.origin = origin
    }

    /// Checks `bundle` as `AttestationBundle.verify` does (see above) and returns its checkpoint.
    @discardableResult
    public mutating func verify(_ bundle: AttestationBundle, now: Date) throws(AttestationError) -> Checkpoint {
        let checkpoint = try self.checkpoint(bundle.checkpoint)
        try bundle.verifyIncluded(in: checkpoint, now: now)
        return checkpoint
    }

    /// The checkpoint of `note`, its signature verified the first time it is seen.
    private mutating func checkpoint(_ note: String) throws(AttestationError) -> Checkpoint {
        if let known = verified[note] { return known }
        let signed: SignedCheckpoint
        do { signed = try SignedCheckpoint(verifying: note, verifier: directory, origin: origin) } catch { throw .checkpoint(error) }
        if order.count == Self.maximumCachedCheckpoints { verified[order.removeFirst()] = nil }
        verified[note] = signed.checkpoint
        order.append(note)
        return signed.checkpoint
    }
}

extension BundleVerifier {
    /// `verify(_:now:)` and that the bundle binds `identityKey`, as
    /// `AttestationBundle.verify(binding:directory:now:)` checks it.
    @discardableResult
    public mutating func verify(_ bundle: AttestationBundle, binding identityKey: Ed25519.PublicKey, now: Date) throws(PresentedAttestationError)
        -> Checkpoint
    {
        let checkpoint: Checkpoint
        do { checkpoint = try verify(bundle, now: now) } catch { throw .invalid(error) }
        try bundle.requireBinding(identityKey)
        return checkpoint
    }
}
