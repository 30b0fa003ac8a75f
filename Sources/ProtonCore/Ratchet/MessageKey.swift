import ProtonCrypto

/// A single-use message key (Signal spec, section 2.2).
struct MessageKey: Sendable {
    let secret: SecureBytes

    private static let info = Array("Proton message key".utf8)

    /// Section 5.2 recommends deriving the encryption key and IV from the message key with
    /// HKDF; the AEAD here is XChaCha20-Poly1305, so that is a 32-byte key and a 24-byte nonce.
    /// The key is used once, so a derived nonce is safe.
    private func aeadParameters() -> (XChaCha20Poly1305.Key, [UInt8]) {
        let derived = try! HKDF.deriveKey(inputKeyMaterial: secret, salt: [], info: Self.info, outputByteCount: 56)
        let parts = derived.split([32, 24])
        return (try! XChaCha20Poly1305.Key(parts[0]), parts[1].unsafeExportedBytes())
    }

    func seal(_ plaintext: [UInt8], associatedData: [UInt8]) -> [UInt8] {
        let (key, nonce) = aeadParameters()
        return try! XChaCha20Poly1305.seal(plaintext, using: key, nonce: nonce, authenticating: associatedData)
    }

    func open(_ ciphertext: [UInt8], associatedData: [UInt8]) throws(RatchetError) -> [UInt8] {
        let (key, nonce) = aeadParameters()
        do {
            return try XChaCha20Poly1305.open(ciphertext, using: key, nonce: nonce, authenticating: associatedData)
        } catch {
            throw .authenticationFailure
        }
    }
}
