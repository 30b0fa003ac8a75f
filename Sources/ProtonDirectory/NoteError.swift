/// Why a C2SP signed note, a verifier key or a checkpoint was refused.
public enum NoteError: Error, Equatable, Sendable {
    /// Over one of `SignedNote.Limits` (`what` names which).
    case tooLarge(what: String, limit: Int, actual: Int)
    /// Not a signed note in the c2sp.org/signed-note syntax (`reason` says where it breaks).
    case malformed(reason: String)
    /// A key name that is empty or holds a Unicode space or a plus sign (c2sp.org/signed-note).
    case invalidKeyName
    /// A verifier key that is not `<name>+<8 hex digits>+<base64(0x01 || 32-byte key)>`, or
    /// whose key ID does not match its name and key.
    case invalidVerifierKey(reason: String)
    /// A signature from the pinned key (name and key ID match) does not verify: the whole note
    /// is refused ("If a signature from a known key fails to verify, clients SHOULD reject the
    /// whole note").
    case invalidSignature(keyName: String)
    /// No signature from the pinned key ("If no signature from a known key verifies
    /// successfully, clients MUST reject the note").
    case noSignatureFromKnownKey(keyName: String)
    /// The note text is not a checkpoint (c2sp.org/tlog-checkpoint, "Note text").
    case invalidCheckpoint(reason: String)
    /// The checkpoint's origin is not the log the caller pinned.
    case unexpectedOrigin(expected: String, actual: String)
}

extension NoteError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .tooLarge(let what, let limit, let actual): "the note's \(what) is \(actual), over the limit of \(limit)"
        case .malformed(let reason): "not a signed note: \(reason)"
        case .invalidKeyName: "a key name must be non-empty, without spaces or plus signs"
        case .invalidVerifierKey(let reason): "not a verifier key: \(reason)"
        case .invalidSignature(let keyName): "the signature by \(keyName) does not verify: the note was altered or forged"
        case .noSignatureFromKnownKey(let keyName): "the note carries no signature by the pinned key \(keyName)"
        case .invalidCheckpoint(let reason): "not a checkpoint: \(reason)"
        case .unexpectedOrigin(let expected, let actual): "the checkpoint is from \(actual), not from \(expected)"
        }
    }
}
