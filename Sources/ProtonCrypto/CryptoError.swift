/// The ways a cryptographic operation can fail. Deliberately coarse: a caller learns *that*
/// authentication failed, never which byte was wrong.
public enum CryptoError: Error, Equatable, Sendable {
    /// A key, nonce or signature had the wrong number of bytes.
    case invalidLength(expected: Int, actual: Int)
    /// A public key was rejected (low order, or not a valid encoding).
    case invalidPublicKey
    /// Authentication failed: the ciphertext, tag, nonce, associated data or key is wrong.
    case authenticationFailure
    /// A Diffie-Hellman result was all zeros (the peer sent a low-order point).
    case weakSharedSecret
    /// A requested output length is outside what the primitive allows.
    case invalidOutputLength(Int)
    /// Password hashing could not get the memory it was asked for.
    case outOfMemory
}
