import CSodium

/// Passphrase-based key derivation with Argon2id (`crypto_pwhash`, RFC 9106).
public enum Argon2id {
    public static var saltByteCount: Int { Int(crypto_pwhash_saltbytes()) }

    public struct Cost: Sendable, Equatable {
        public var operations: UInt64
        public var memoryBytes: Int

        public init(operations: UInt64, memoryBytes: Int) {
            self.operations = operations
            self.memoryBytes = memoryBytes
        }

        /// libsodium's "interactive" limits: 2 passes, 64 MiB.
        public static var interactive: Cost {
            Cost(operations: UInt64(crypto_pwhash_opslimit_interactive()), memoryBytes: Int(crypto_pwhash_memlimit_interactive()))
        }

        /// The smallest cost libsodium accepts; for tests only.
        public static var minimum: Cost {
            Cost(operations: UInt64(crypto_pwhash_opslimit_min()), memoryBytes: Int(crypto_pwhash_memlimit_min()))
        }
    }

    public static func deriveKey(
        passphrase: SecureBytes, salt: [UInt8], cost: Cost, outputByteCount: Int = 32
    ) throws -> SecureBytes {
        Sodium.ensureInitialized()
        guard salt.count == saltByteCount else {
            throw CryptoError.invalidLength(expected: saltByteCount, actual: salt.count)
        }
        var status: Int32 = 0
        let key = SecureBytes(count: outputByteCount) { out in
            passphrase.withUnsafeBytes { pass in
                status = crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(outputByteCount),
                    UnsafeRawPointer(pass.bytePointer).assumingMemoryBound(to: CChar.self), UInt64(pass.count), salt,
                    cost.operations, cost.memoryBytes, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else { throw CryptoError.outOfMemory }
        return key
    }
}
