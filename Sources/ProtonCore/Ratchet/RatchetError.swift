/// Why a ratchet message was refused. On every one of these the ratchet state is exactly as it
/// was before the call.
public enum RatchetError: Error, Equatable, Sendable {
    /// The bytes are not a well-formed ratchet message.
    case malformed(WireError)
    /// No current or next header key opens the header: not for this relationship, tampered,
    /// or from a chain whose keys are gone.
    case undecryptableHeader
    /// The header opened but the body did not authenticate: tampered.
    case authenticationFailure
    /// A message this chain has already delivered (a replay or a duplicate).
    case duplicateMessage
    /// A second, different message at a position this chain already delivered: the peer sent
    /// from an old copy of its state (a restored backup, snapshot or copied profile). Its
    /// message key is gone, so it cannot be read.
    case staleSenderState
    /// The header claims more skipped messages than MAX_SKIP allows.
    case tooManySkippedMessages(requested: Int, limit: Int)
    /// The responder cannot send until it has received the initiator's first message.
    case cannotSendYet
    /// The plaintext exceeds the largest padding bucket.
    case plaintextTooLarge(limit: Int)
    /// The padded body did not unpad: tampered or corrupt.
    case invalidPadding
    /// The peer's ratchet key is unusable (low order), or the ML-KEM key it offered is not one
    /// (FIPS 203 section 7.2's check).
    case invalidRatchetKey
    /// A new chain of the peer without the ML-KEM fields it must carry: no answer to the key we
    /// offered, or no field at all once the relationship is hybrid (a classical peer, or the
    /// post-quantum part taken out).
    case postQuantumStepMissing
    /// A new chain of the peer answers a KEM key we never offered (or have already used).
    case unexpectedKEMCiphertext
}
