import ProtonCrypto

/// Noise's CipherState (revision 34, section 5.1): a key `k` and a counter nonce `n`.
///
/// The cipher is XChaCha20-Poly1305 where the spec names ChaChaPoly; section 12.3's nonce layout
/// (zeros, then the 64-bit counter little-endian) is kept, widened to XChaCha's 24 bytes:
/// 16 zero bytes followed by `n` as 8 little-endian bytes.
struct CipherState: Sendable {
    private var key: XChaCha20Poly1305.Key?
    private var nonce: UInt64 = 0

    init(key: SecureBytes? = nil) {
        self.key = key.map { try! XChaCha20Poly1305.Key($0) }
    }

    var hasKey: Bool { key != nil }

    /// Section 5.1 EncryptWithAd: without a key the plaintext passes through unchanged.
    mutating func encrypt(associatedData: [UInt8], plaintext: [UInt8]) throws(PairingError) -> [UInt8] {
        guard let key else { return plaintext }
        let nonceBytes = try nextNonce()
        let sealed: [UInt8]
        do {
            sealed = try XChaCha20Poly1305.seal(plaintext, using: key, nonce: nonceBytes, authenticating: associatedData)
        } catch { throw .authenticationFailed }
        nonce += 1
        return sealed
    }

    /// Section 5.1 DecryptWithAd: on an authentication failure `n` is not incremented.
    mutating func decrypt(associatedData: [UInt8], ciphertext: [UInt8]) throws(PairingError) -> [UInt8] {
        guard let key else { return ciphertext }
        let nonceBytes = try nextNonce()
        let opened: [UInt8]
        do {
            opened = try XChaCha20Poly1305.open(ciphertext, using: key, nonce: nonceBytes, authenticating: associatedData)
        } catch { throw .authenticationFailed }
        nonce += 1
        return opened
    }

    /// Section 5.1: 2^64-1 is reserved, so a CipherState that reached it refuses to go on.
    private func nextNonce() throws(PairingError) -> [UInt8] {
        guard nonce < UInt64.max else { throw .malformed("channel nonce exhausted") }
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: nonce.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }
}
