import ProtonCrypto
import Testing

/// ML-KEM-768 through swift-crypto (FIPS 203): keys from a seed, encapsulation and
/// decapsulation, and what is refused.
struct MLKEMTests {
    @Test func aSeedDeterminesTheKey() throws {
        let first = MLKEM.PrivateKey(using: DeterministicRandom(seed: "ml-kem"))
        let again = MLKEM.PrivateKey(using: DeterministicRandom(seed: "ml-kem"))
        let other = MLKEM.PrivateKey(using: DeterministicRandom(seed: "ml-kem, another"))
        #expect(first.seed.count == MLKEM.seedByteCount)
        #expect(first.publicKey.rawRepresentation.count == MLKEM.publicKeyByteCount)
        #expect(first.publicKey == again.publicKey)
        #expect(first.publicKey != other.publicKey)
        #expect(try MLKEM.PrivateKey(seed: first.seed).publicKey == first.publicKey)
        #expect(try MLKEM.PublicKey(rawRepresentation: first.publicKey.rawRepresentation) == first.publicKey)
    }

    @Test func theHolderOfTheKeyAloneGetsTheSecret() throws {
        let key = MLKEM.PrivateKey()
        let sent = key.publicKey.encapsulate()
        #expect(sent.ciphertext.count == MLKEM.ciphertextByteCount)
        #expect(sent.sharedSecret.count == MLKEM.sharedSecretByteCount)
        #expect(try key.decapsulate(sent.ciphertext).isEqual(to: sent.sharedSecret))
        #expect(try !MLKEM.PrivateKey().decapsulate(sent.ciphertext).isEqual(to: sent.sharedSecret))
        // Implicit rejection: a changed ciphertext gives another secret, not an error.
        var altered = sent.ciphertext
        altered[100] ^= 1
        #expect(try !key.decapsulate(altered).isEqual(to: sent.sharedSecret))
        // Two encapsulations to one key carry two secrets.
        #expect(!key.publicKey.encapsulate().sharedSecret.isEqual(to: sent.sharedSecret))
    }

    @Test func refusesWrongLengthsAndUnreducedKeys() throws {
        let key = MLKEM.PrivateKey()
        #expect(throws: CryptoError.invalidLength(expected: 1_088, actual: 1_087)) { try key.decapsulate(Array(repeating: 0, count: 1_087)) }
        #expect(throws: CryptoError.invalidLength(expected: 1_184, actual: 1_183)) {
            try MLKEM.PublicKey(rawRepresentation: Array(key.publicKey.rawRepresentation.dropLast()))
        }
        #expect(throws: CryptoError.invalidLength(expected: 64, actual: 32)) { try MLKEM.PrivateKey(seed: SecureBytes(Array(repeating: 1, count: 32))) }
        // FIPS 203 section 7.2: every 12-bit coefficient of the key must be below q = 3329;
        // 0xFFF is not.
        var unreduced = key.publicKey.rawRepresentation
        unreduced[0] = 0xff
        unreduced[1] |= 0x0f
        #expect(throws: CryptoError.invalidPublicKey) { try MLKEM.PublicKey(rawRepresentation: unreduced) }
    }
}
