import CSodium

/// X25519 key agreement (RFC 7748) through `crypto_scalarmult`.
public enum X25519 {
    public static let keyByteCount = 32

    public struct PublicKey: Hashable, Sendable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == X25519.keyByteCount else {
                throw CryptoError.invalidLength(expected: X25519.keyByteCount, actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }
    }

    public struct PrivateKey: Sendable {
        let secret: SecureBytes
        public let publicKey: PublicKey

        init(secret: SecureBytes) {
            Sodium.ensureInitialized()
            self.secret = secret
            var publicBytes = [UInt8](repeating: 0, count: X25519.keyByteCount)
            secret.withUnsafeBytes { scalar in
                _ = crypto_scalarmult_base(&publicBytes, scalar.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            self.publicKey = try! PublicKey(rawRepresentation: publicBytes)
        }

        public init(using random: some RandomSource = SystemRandom()) {
            var bytes = random.bytes(X25519.keyByteCount)
            self.init(secret: SecureBytes(consuming: &bytes))
        }

        /// A key from its 32-byte scalar. Zeroes `rawRepresentation`.
        public init(rawRepresentation: inout [UInt8]) throws {
            guard rawRepresentation.count == X25519.keyByteCount else {
                throw CryptoError.invalidLength(expected: X25519.keyByteCount, actual: rawRepresentation.count)
            }
            self.init(secret: SecureBytes(consuming: &rawRepresentation))
        }

        public init(secretBytes: SecureBytes) throws {
            guard secretBytes.count == X25519.keyByteCount else {
                throw CryptoError.invalidLength(expected: X25519.keyByteCount, actual: secretBytes.count)
            }
            self.init(secret: secretBytes)
        }

        /// The scalar, for storing the key.
        public var secretBytes: SecureBytes { secret }

        /// DH(self, peer). Refuses an all-zero result, which a low-order peer key produces
        /// (RFC 7748 section 6.1).
        public func sharedSecret(with peer: PublicKey) throws -> SecureBytes {
            var failed = false
            let shared = SecureBytes(count: X25519.keyByteCount) { out in
                secret.withUnsafeBytes { scalar in
                    failed = crypto_scalarmult(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        scalar.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        peer.rawRepresentation) != 0
                }
            }
            if failed { throw CryptoError.weakSharedSecret }
            return shared
        }
    }
}

extension X25519.PublicKey: CustomStringConvertible {
    public var description: String { "x25519:" + shortFingerprint(rawRepresentation) }
}
