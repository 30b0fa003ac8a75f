import CSodium

/// Ed25519 signatures (RFC 8032) through libsodium's `crypto_sign_*`.
public enum Ed25519 {
    public static let publicKeyByteCount = 32
    public static let seedByteCount = 32
    public static let signatureByteCount = 64

    public struct PublicKey: Hashable, Sendable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == Ed25519.publicKeyByteCount else {
                throw CryptoError.invalidLength(expected: Ed25519.publicKeyByteCount, actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            Sodium.ensureInitialized()
            guard signature.count == Ed25519.signatureByteCount else { return false }
            return crypto_sign_verify_detached(signature, message, UInt64(message.count), rawRepresentation) == 0
        }

        /// The X25519 key with the same secret (birational map, libsodium's
        /// `crypto_sign_ed25519_pk_to_curve25519`), so one identity key serves X3DH as well.
        public func agreementKey() throws -> X25519.PublicKey {
            Sodium.ensureInitialized()
            var out = [UInt8](repeating: 0, count: X25519.keyByteCount)
            guard crypto_sign_ed25519_pk_to_curve25519(&out, rawRepresentation) == 0 else {
                throw CryptoError.invalidPublicKey
            }
            return try X25519.PublicKey(rawRepresentation: out)
        }
    }

    public struct PrivateKey: Sendable {
        /// The 32-byte seed RFC 8032 calls the private key.
        let seed: SecureBytes
        /// libsodium's 64-byte expanded form (seed || public key).
        let expanded: SecureBytes
        public let publicKey: PublicKey

        public init(using random: some RandomSource = SystemRandom()) {
            var seedBytes = random.bytes(Ed25519.seedByteCount)
            // A seed of the right length always yields a key.
            try! self.init(seed: &seedBytes)
        }

        /// Derives the key from its 32-byte seed (RFC 8032's private key). Zeroes `seed`.
        public init(seed: inout [UInt8]) throws {
            Sodium.ensureInitialized()
            guard seed.count == Ed25519.seedByteCount else {
                throw CryptoError.invalidLength(expected: Ed25519.seedByteCount, actual: seed.count)
            }
            var publicBytes = [UInt8](repeating: 0, count: Ed25519.publicKeyByteCount)
            // Read `seed` in place: a `let` copy would share its buffer, so zeroing `seed` below
            // would copy-on-write and leave the original seed bytes in a buffer freed unzeroed.
            self.expanded = SecureBytes(count: 64) { buffer in
                _ = crypto_sign_seed_keypair(
                    &publicBytes, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), seed)
            }
            self.seed = SecureBytes(consuming: &seed)
            self.publicKey = try PublicKey(rawRepresentation: publicBytes)
        }

        /// The seed, for storing the key. Handle with care.
        public var seedBytes: SecureBytes { seed }

        public func signature(for message: [UInt8]) -> [UInt8] {
            Sodium.ensureInitialized()
            var signature = [UInt8](repeating: 0, count: Ed25519.signatureByteCount)
            expanded.withUnsafeBytes { secret in
                _ = crypto_sign_detached(
                    &signature, nil, message, UInt64(message.count),
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return signature
        }

        /// The X25519 private key with the same secret (`crypto_sign_ed25519_sk_to_curve25519`).
        public func agreementKey() -> X25519.PrivateKey {
            Sodium.ensureInitialized()
            let scalar = SecureBytes(count: X25519.keyByteCount) { out in
                expanded.withUnsafeBytes { secret in
                    _ = crypto_sign_ed25519_sk_to_curve25519(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            return X25519.PrivateKey(secret: scalar)
        }
    }
}

extension Ed25519.PublicKey: CustomStringConvertible {
    public var description: String { "ed25519:" + shortFingerprint(rawRepresentation) }
}
