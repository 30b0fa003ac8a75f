import CSodium

/// XChaCha20-Poly1305 (IETF construction) through `crypto_aead_xchacha20poly1305_ietf_*`.
/// The 192-bit nonce makes random nonces safe for a long-lived key.
public enum XChaCha20Poly1305 {
    public static let keyByteCount = 32
    public static let nonceByteCount = 24
    public static let tagByteCount = 16

    public struct Key: Sendable {
        let secret: SecureBytes

        public init(_ secret: SecureBytes) throws {
            guard secret.count == XChaCha20Poly1305.keyByteCount else {
                throw CryptoError.invalidLength(expected: XChaCha20Poly1305.keyByteCount, actual: secret.count)
            }
            self.secret = secret
        }

        public init(using random: some RandomSource = SystemRandom()) {
            var bytes = random.bytes(XChaCha20Poly1305.keyByteCount)
            self.secret = SecureBytes(consuming: &bytes)
        }

        public var secretBytes: SecureBytes { secret }
    }

    /// Returns ciphertext || tag.
    public static func seal(
        _ plaintext: [UInt8], using key: Key, nonce: [UInt8], authenticating associatedData: [UInt8] = []
    ) throws -> [UInt8] {
        Sodium.ensureInitialized()
        guard nonce.count == nonceByteCount else {
            throw CryptoError.invalidLength(expected: nonceByteCount, actual: nonce.count)
        }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var written: UInt64 = 0
        key.secret.withUnsafeBytes { k in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &out, &written, plaintext, UInt64(plaintext.count),
                associatedData, UInt64(associatedData.count), nil, nonce,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return out
    }

    /// Opens ciphertext || tag, or throws `authenticationFailure` having revealed nothing.
    public static func open(
        _ sealed: [UInt8], using key: Key, nonce: [UInt8], authenticating associatedData: [UInt8] = []
    ) throws -> [UInt8] {
        Sodium.ensureInitialized()
        guard nonce.count == nonceByteCount else {
            throw CryptoError.invalidLength(expected: nonceByteCount, actual: nonce.count)
        }
        guard sealed.count >= tagByteCount else { throw CryptoError.authenticationFailure }
        var out = [UInt8](repeating: 0, count: sealed.count - tagByteCount)
        var written: UInt64 = 0
        let status = key.secret.withUnsafeBytes { k in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &out, &written, nil, sealed, UInt64(sealed.count),
                associatedData, UInt64(associatedData.count), nonce,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw CryptoError.authenticationFailure }
        return out
    }
}
