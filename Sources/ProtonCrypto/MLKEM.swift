// swift-crypto, for ML-KEM only (its BoringSSL implementation of FIPS 203). Imported in this
// file alone: its SHA256 and HKDF would shadow ours everywhere else.
import Crypto
import Foundation

/// ML-KEM-768 (FIPS 203), the key encapsulation mechanism of the post-quantum parts: an
/// encapsulation key (1,184 bytes) to which anyone can encapsulate a fresh 32-byte secret,
/// sending a 1,088-byte ciphertext that only the holder of the decapsulation key can open.
/// Keys are generated from a 64-byte seed (FIPS 203 `ML-KEM.KeyGen_internal(d, z)`), so they
/// come from a `RandomSource` like every other key. Encapsulation draws its 32 random bytes
/// inside BoringSSL, which cannot be handed a `RandomSource`: callers that must replay a start
/// (test vectors) pass a recorded encapsulation instead.
public enum MLKEM {
    public static let publicKeyByteCount = 1_184
    public static let ciphertextByteCount = 1_088
    public static let sharedSecretByteCount = 32
    public static let seedByteCount = 64

    public struct PublicKey: Hashable, Sendable {
        /// The only thing kept: swift-crypto's key objects live only during an operation (they
        /// would hold copies of our keys that nothing zeroes, for as long as a key lives).
        public let rawRepresentation: [UInt8]

        /// Refuses a key of another length or one whose coefficients are not reduced modulo q
        /// (FIPS 203 section 7.2, the encapsulation key check BoringSSL performs on parsing).
        public init(rawRepresentation: [UInt8]) throws(CryptoError) {
            guard rawRepresentation.count == MLKEM.publicKeyByteCount else {
                throw .invalidLength(expected: MLKEM.publicKeyByteCount, actual: rawRepresentation.count)
            }
            guard (try? MLKEM768.PublicKey(rawRepresentation: rawRepresentation)) != nil else { throw .invalidPublicKey }
            self.rawRepresentation = rawRepresentation
        }

        init(checked rawRepresentation: [UInt8]) {
            self.rawRepresentation = rawRepresentation
        }

        /// A fresh secret and its ciphertext for the holder of this key.
        public func encapsulate() -> Encapsulation {
            // Fails only for a key that does not parse, which this type never holds.
            try! MLKEM.encapsulate(toKey: rawRepresentation)
        }

        public static func == (a: PublicKey, b: PublicKey) -> Bool { a.rawRepresentation == b.rawRepresentation }
        public func hash(into hasher: inout Hasher) { hasher.combine(rawRepresentation) }
    }

    /// A fresh secret and its ciphertext for the holder of the encapsulation key `rawRepresentation`,
    /// checked (as `PublicKey.init(rawRepresentation:)` does) in the same parse: for a key that
    /// arrives in a message and is used once, which would otherwise be parsed twice.
    public static func encapsulate(toKey rawRepresentation: [UInt8]) throws(CryptoError) -> Encapsulation {
        guard rawRepresentation.count == publicKeyByteCount else {
            throw .invalidLength(expected: publicKeyByteCount, actual: rawRepresentation.count)
        }
        guard let key = try? MLKEM768.PublicKey(rawRepresentation: rawRepresentation), let result = try? key.encapsulate() else {
            throw .invalidPublicKey
        }
        return Encapsulation(unchecked: Array(result.encapsulated), sharedSecret: secureCopy(result.sharedSecret))
    }

    /// A ciphertext and the secret it carries.
    public struct Encapsulation: Sendable {
        public let ciphertext: [UInt8]
        public let sharedSecret: SecureBytes

        /// A recorded encapsulation (test vectors, replays): a 1,088-byte ciphertext and its
        /// 32-byte secret.
        public init(ciphertext: [UInt8], sharedSecret: SecureBytes) throws(CryptoError) {
            guard ciphertext.count == MLKEM.ciphertextByteCount else {
                throw .invalidLength(expected: MLKEM.ciphertextByteCount, actual: ciphertext.count)
            }
            guard sharedSecret.count == MLKEM.sharedSecretByteCount else {
                throw .invalidLength(expected: MLKEM.sharedSecretByteCount, actual: sharedSecret.count)
            }
            self.ciphertext = ciphertext
            self.sharedSecret = sharedSecret
        }

        init(unchecked ciphertext: [UInt8], sharedSecret: SecureBytes) {
            self.ciphertext = ciphertext
            self.sharedSecret = sharedSecret
        }
    }

    /// The key's bytes, copied straight into our own zeroed-on-free storage (swift-crypto's own
    /// copies are its to free).
    static func secureCopy(_ key: SymmetricKey) -> SecureBytes {
        key.withUnsafeBytes { bytes in SecureBytes(count: bytes.count) { $0.copyMemory(from: bytes) } }
    }

    public struct PrivateKey: Sendable {
        /// d ‖ z, which determines the key; swift-crypto's key is made from it for each
        /// decapsulation, and freed after it.
        public let seed: SecureBytes
        public let publicKey: PublicKey

        public init(using random: some RandomSource = SystemRandom()) {
            var bytes = random.bytes(MLKEM.seedByteCount)
            // A 64-byte seed always makes a key.
            try! self.init(seed: SecureBytes(consuming: &bytes))
        }

        public init(seed: SecureBytes) throws(CryptoError) {
            guard seed.count == MLKEM.seedByteCount else { throw .invalidLength(expected: MLKEM.seedByteCount, actual: seed.count) }
            // The seed is handed over without a copy of ours (swift-crypto keeps its own, which
            // it does not zero when freed).
            // Any 64 bytes make a key (FIPS 203 KeyGen_internal); a failure would be the library's.
            guard let key = Self.expand(seed) else { throw .invalidPublicKey }
            self.seed = seed
            publicKey = PublicKey(checked: Array(key.publicKey.rawRepresentation))
        }

        /// A key as stored: its seed and its public key, trusted to belong together (the
        /// store's own record, sealed with the rest of the state), so that loading it expands
        /// nothing: the seed is expanded only to decapsulate, once per use, since every
        /// expansion leaves swift-crypto's unzeroed copies behind.
        public init(seed: SecureBytes, publicKey: PublicKey) throws(CryptoError) {
            guard seed.count == MLKEM.seedByteCount else { throw .invalidLength(expected: MLKEM.seedByteCount, actual: seed.count) }
            self.seed = seed
            self.publicKey = publicKey
        }

        private static func expand(_ seed: SecureBytes) -> MLKEM768.PrivateKey? {
            seed.withUnsafeBytes { try? MLKEM768.PrivateKey(seedRepresentation: $0, publicKey: nil) }
        }

        /// The secret in `ciphertext`. A ciphertext of the right length always decapsulates
        /// (FIPS 203's implicit rejection: a tampered one gives an unrelated secret, which the
        /// key derivation then turns into a failed authentication, never an error here).
        public func decapsulate(_ ciphertext: [UInt8]) throws(CryptoError) -> SecureBytes {
            guard ciphertext.count == MLKEM.ciphertextByteCount else {
                throw .invalidLength(expected: MLKEM.ciphertextByteCount, actual: ciphertext.count)
            }
            guard let key = Self.expand(seed), let secret = try? key.decapsulate(ciphertext) else { throw .authenticationFailure }
            return MLKEM.secureCopy(secret)
        }
    }
}
