import ProtonCrypto

/// A single-use message key (Signal spec, section 2.2).
struct MessageKey: Sendable {
    let secret: SecureBytes

    /// ENCRYPT(mk, plaintext, AD) of section 5.2 with an AEAD: the message key is the
    /// XChaCha20-Poly1305 key itself. "Because each message key is only used once, the AEAD
    /// nonce may be handled in several ways: fixed to a constant; ..." (section 5.2): here the
    /// nonce is fixed to zero.
    static let nonce = [UInt8](repeating: 0, count: XChaCha20Poly1305.nonceByteCount)

    private var key: XChaCha20Poly1305.Key { try! XChaCha20Poly1305.Key(secret) }

    func seal(_ plaintext: [UInt8], associatedData: [UInt8]) -> [UInt8] {
        try! XChaCha20Poly1305.seal(plaintext, using: key, nonce: Self.nonce, authenticating: associatedData)
    }

    func open(_ ciphertext: [UInt8], associatedData: [UInt8]) throws(RatchetError) -> [UInt8] {
        do {
            return try XChaCha20Poly1305.open(ciphertext, using: key, nonce: Self.nonce, authenticating: associatedData)
        } catch {
            throw .authenticationFailure
        }
    }
}
