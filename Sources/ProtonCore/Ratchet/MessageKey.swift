import ProtonCrypto

/// A single-use message key (Signal spec, section 2.2).
struct MessageKey: Sendable {
    let secret: SecureBytes

    /// ENCRYPT(mk, plaintext, AD) of section 5.2 with an AEAD: the message key is the
    /// XChaCha20-Poly1305 key itself, and the nonce is 24 random bytes carried in the message.
    /// Section 5.2 allows a constant nonce because "each message key is only used once" — but a
    /// profile restored from a backup, a snapshot or a copy derives the same message keys again,
    /// and a constant nonce would then encrypt two plaintexts under one key and nonce. A random
    /// 192-bit nonce keeps even that case a fresh encryption (the header key does the same).
    private var key: XChaCha20Poly1305.Key { try! XChaCha20Poly1305.Key(secret) }

    func seal(_ plaintext: [UInt8], nonce: [UInt8], associatedData: [UInt8]) -> [UInt8] {
        try! XChaCha20Poly1305.seal(plaintext, using: key, nonce: nonce, authenticating: associatedData)
    }

    func open(_ ciphertext: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws(RatchetError) -> [UInt8] {
        do {
            return try XChaCha20Poly1305.open(ciphertext, using: key, nonce: nonce, authenticating: associatedData)
        } catch {
            throw .authenticationFailure
        }
    }
}
