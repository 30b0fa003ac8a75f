import ProtonCrypto

/// Noise's SymmetricState (revision 34, section 5.2): the chaining key `ck`, the handshake hash
/// `h` and the CipherState they key. HASH is SHA-256, so HASHLEN is 32.
struct SymmetricState: Sendable {
    private var chainingKey: SecureBytes
    private(set) var handshakeHash: [UInt8]
    private var cipher = CipherState()

    /// Section 5.2 InitializeSymmetric: a name longer than HASHLEN is hashed, a shorter one
    /// zero-padded; `ck` starts equal to `h`.
    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        handshakeHash =
            name.count <= SHA256.byteCount
            ? name + [UInt8](repeating: 0, count: SHA256.byteCount - name.count) : SHA256.hash(name)
        chainingKey = SecureBytes(handshakeHash)
    }

    var hasKey: Bool { cipher.hasKey }

    /// Section 5.2 MixKey: ck, temp_k = HKDF(ck, input_key_material, 2).
    mutating func mixKey(_ inputKeyMaterial: SecureBytes) {
        let (nextChainingKey, key) = Self.hkdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial)
        chainingKey = nextChainingKey
        cipher = CipherState(key: key)
    }

    /// Section 5.2 MixHash: h = HASH(h || data).
    mutating func mixHash(_ data: [UInt8]) {
        handshakeHash = SHA256.hash(handshakeHash + data)
    }

    /// Section 5.2 EncryptAndHash: encrypts with `h` as associated data, then hashes the result.
    mutating func encryptAndHash(_ plaintext: [UInt8]) throws(PairingError) -> [UInt8] {
        let ciphertext = try cipher.encrypt(associatedData: handshakeHash, plaintext: plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    /// Section 5.2 DecryptAndHash.
    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(PairingError) -> [UInt8] {
        let plaintext = try cipher.decrypt(associatedData: handshakeHash, ciphertext: ciphertext)
        mixHash(ciphertext)
        return plaintext
    }

    /// Section 5.2 Split: the initiator-to-responder and responder-to-initiator CipherStates.
    func split() -> (initiatorToResponder: CipherState, responderToInitiator: CipherState) {
        let (first, second) = Self.hkdf(chainingKey: chainingKey, inputKeyMaterial: SecureBytes([UInt8]()))
        return (CipherState(key: first), CipherState(key: second))
    }

    /// Section 4.3's HKDF with two outputs. With `ck` as the salt and an empty info string,
    /// RFC 5869's extract-then-expand computes exactly the spec's
    /// temp_key = HMAC(ck, ikm), output1 = HMAC(temp_key, 0x01), output2 = HMAC(temp_key, output1 || 0x02).
    private static func hkdf(chainingKey: SecureBytes, inputKeyMaterial: SecureBytes) -> (SecureBytes, SecureBytes) {
        // 64 bytes is within HKDF's limit, so the derivation cannot fail.
        let output = try! HKDF.deriveKey(
            inputKeyMaterial: inputKeyMaterial, salt: chainingKey, info: [], outputByteCount: 2 * SHA256.byteCount)
        let halves = output.split([SHA256.byteCount, SHA256.byteCount])
        return (halves[0], halves[1])
    }
}
