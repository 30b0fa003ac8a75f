import Foundation
import ProtonCore

/// Why something about attesting directories was refused or failed. Each case says what is
/// wrong; a directory that broke its promises is `.misbehaved` or `.forked`, kept apart from a
/// directory that is merely unreachable (`.client(.unavailable)`).
public enum DirectoryError: Error, Sendable, Equatable {
    /// The directory answered with a failure (unreachable, a refusal, a malformed answer).
    case client(DirectoryClient.Failure)
    /// Its log forked or rolled back, or a checkpoint does not verify under the pinned key:
    /// the evidence (both signed checkpoints) is kept in the profile.
    case forked(DirectoryAuditor.Misbehaviour)
    /// An answer that breaks the directory's promises (an attestation that does not verify or
    /// is about another name, a key package signed by a key its log does not attest…).
    case misbehaved(directory: String, reason: String)
    /// No directory is pinned for this namespace.
    case notPinned(namespace: String)
    /// No directory is pinned at all.
    case nonePinned
    /// A bare name is ambiguous: several directories are pinned.
    case severalPinned
    /// A directory is pinned at this URL, or for this namespace, already.
    case alreadyPinned(String)
    /// Not NAME@NAMESPACE with a valid name and a lowercase domain.
    case invalidQualifiedName(String)
    /// Not 1 to 64 characters of a-z, 0-9, '.', '_' or '-'.
    case invalidName(String)
    /// Not a C2SP verifier key (NAME+KEYID+BASE64).
    case invalidVerifierKey(reason: String)
    /// Not an http(s) URL.
    case invalidURL(String)
    /// The directory reports another key than the one given to pin it with.
    case keyMismatch(url: String, reported: String)
    /// The name was revoked: no key is attested for it now.
    case revoked(String)
    /// The attestation of `name` stored for a persona no longer verifies.
    case attestationDoesNotVerify(name: String, persona: String, reason: String)
    /// No attestation of `name` is stored for the persona's key; `alternatives` are those that are.
    case noAttestation(name: String, persona: String, alternatives: [String])
    /// No verified attestation of the persona's key is stored at all.
    case noOwnAttestation(persona: String)
    /// The name is not one registered from this profile.
    case notRegisteredHere(String)
    /// No name, or several, were registered from this profile, and none was chosen.
    case registeredNames(count: Int)
    /// The persona that registered the name is gone from the profile.
    case registrantGone(String)
    /// The name is one of our own personas'.
    case ownName(String)
    /// The persona already has a relationship with the name's key.
    case alreadyConnected(name: String, persona: String, relationshipID: String)
    /// The name's owner approves each contact: the request waits.
    case approvalPending(name: String, requestID: String)
    /// A stored part of the directory trust state (`file`) is damaged.
    case damaged(what: String, reason: String)
    /// A checkpoint without the cosignatures the directory's witness policy asks for.
    case missingQuorum(directory: String, size: UInt64, have: Int, need: String)
    /// The directory trust state could not be written.
    case cannotSave(reason: String)
}

extension DirectoryError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .client(let failure): failure.description
        case .missingQuorum(let directory, let size, let have, let need):
            "the checkpoint of size \(size) from \(directory) is cosigned by \(have) of its pinned witnesses, which does not meet \(need): "
                + "a view of the log the witnesses have not seen is refused"
        case .forked(let misbehaviour): "the directory at \(misbehaviour.directory) misbehaved: \(misbehaviour.summary)"
        case .misbehaved(_, let reason): reason
        case .notPinned(let namespace): "no directory is pinned for \(namespace)"
        case .nonePinned: "no directory is pinned"
        case .severalPinned: "several directories are pinned"
        case .alreadyPinned(let what): "\(what) is pinned already"
        case .invalidQualifiedName(let text): "\"\(text)\" is not NAME@NAMESPACE with a valid name and a lowercase domain"
        case .invalidName(let text): "\"\(text)\" is not a valid name (1 to 64 characters of a-z, 0-9, '.', '_' or '-')"
        case .invalidVerifierKey(let reason): "not a C2SP verifier key (NAME+KEYID+BASE64): \(reason)"
        case .invalidURL(let text): "\(text) is not an http(s) URL"
        case .keyMismatch(let url, let reported): "\(url) reports the key \(reported), not the one given"
        case .revoked(let name): "\(name) was revoked; no key is attested for it now"
        case .attestationDoesNotVerify(let name, _, let reason): "the stored attestation of \(name) does not verify: \(reason)"
        case .noAttestation(let name, let persona, _): "no attestation of \(name) is stored for \(persona)'s key"
        case .noOwnAttestation(let persona): "no verified attestation of \(persona)'s key is stored"
        case .notRegisteredHere(let name): "\(name) was not registered from this profile"
        case .registeredNames(let count): count == 0 ? "no name was registered from this profile" : "several names were registered from this profile"
        case .registrantGone(let name): "the persona that registered \(name) is no longer in this profile"
        case .ownName(let name): "\(name) is one of your own personas"
        case .alreadyConnected(let name, let persona, let id): "\(persona) already has a relationship (\(id)) with \(name)"
        case .approvalPending(let name, let id): "\(name) approves each contact: request \(id) waits for them"
        case .damaged(let what, let reason): "\(what) is damaged: \(reason)"
        case .cannotSave(let reason): "the directory trust state could not be written: \(reason)"
        }
    }
}
