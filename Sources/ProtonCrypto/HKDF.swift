import CSodium

/// HMAC-SHA-256 (RFC 2104) over libsodium's `crypto_auth_hmacsha256_*`, which accepts keys of
/// any length.
public enum HMACSHA256 {
    public static let byteCount = 32

    public static func authenticationCode(for message: [UInt8], using key: SecureBytes) -> SecureBytes {
        key.withUnsafeBytes { k in mac(message, key: k) }
    }

    public static func authenticationCode(for message: [UInt8], using key: [UInt8]) -> SecureBytes {
        key.withUnsafeBytes { k in mac(message, key: k) }
    }

    /// HMAC(key, [first]) and HMAC(key, [second]), keying HMAC's inner and outer hashes once for
    /// both: the Double Ratchet's KDF_CK takes two single-byte MACs under the chain key.
    public static func authenticationCodes(
        forBytes first: UInt8, _ second: UInt8, using key: SecureBytes
    ) -> (SecureBytes, SecureBytes) {
        Sodium.ensureInitialized()
        var keyed = crypto_auth_hmacsha256_state()
        key.withUnsafeBytes { k in _ = crypto_auth_hmacsha256_init(&keyed, k.bytePointer, k.count) }
        defer { sodium_memzero(&keyed, MemoryLayout<crypto_auth_hmacsha256_state>.size) }
        func mac(_ byte: UInt8) -> SecureBytes {
            SecureBytes(count: byteCount) { out in
                var state = keyed
                var message = byte
                _ = crypto_auth_hmacsha256_update(&state, &message, 1)
                _ = crypto_auth_hmacsha256_final(&state, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
                sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
            }
        }
        return (mac(first), mac(second))
    }

    static func mac(_ message: [UInt8], key: UnsafeRawBufferPointer) -> SecureBytes {
        message.withUnsafeBytes { mac($0, key: key) }
    }

    static func mac(_ message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> SecureBytes {
        Sodium.ensureInitialized()
        return SecureBytes(count: byteCount) { out in
            var state = crypto_auth_hmacsha256_state()
            _ = crypto_auth_hmacsha256_init(&state, key.bytePointer, key.count)
            _ = crypto_auth_hmacsha256_update(&state, message.bytePointer, UInt64(message.count))
            _ = crypto_auth_hmacsha256_final(&state, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
        }
    }
}

/// HKDF with HMAC-SHA-256 (RFC 5869). libsodium 1.0.18 has no `crypto_kdf_hkdf_*`, so it is
/// built here from the HMAC exactly as section 2 of the RFC writes it.
public enum HKDF {
    public static let maximumOutputByteCount = 255 * HMACSHA256.byteCount

    /// Section 2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes.
    public static func extract(salt: [UInt8], inputKeyMaterial: SecureBytes) -> SecureBytes {
        let effectiveSalt = salt.isEmpty ? [UInt8](repeating: 0, count: HMACSHA256.byteCount) : salt
        // The secret input goes to the MAC from where it lives, never through a plain array.
        return inputKeyMaterial.withUnsafeBytes { ikm in
            effectiveSalt.withUnsafeBytes { key in HMACSHA256.mac(ikm, key: key) }
        }
    }

    /// Section 2.2 with a secret salt, as the Double Ratchet's KDF_RK uses the root key.
    public static func extract(salt: SecureBytes, inputKeyMaterial: SecureBytes) -> SecureBytes {
        inputKeyMaterial.withUnsafeBytes { ikm in
            salt.withUnsafeBytes { key in HMACSHA256.mac(ikm, key: key) }
        }
    }

    /// Section 2.3: T(i) = HMAC-Hash(PRK, T(i-1) || info || i).
    public static func expand(pseudoRandomKey prk: SecureBytes, info: [UInt8], outputByteCount: Int) throws -> SecureBytes {
        guard outputByteCount > 0, outputByteCount <= maximumOutputByteCount else {
            throw CryptoError.invalidOutputLength(outputByteCount)
        }
        // Each T(i) is computed into one zeroed scratch block and copied straight into the
        // zeroing output: no secret is left behind in a plain array.
        return SecureBytes(count: outputByteCount) { out in
            prk.withUnsafeBytes { key in
                var block = [UInt8](repeating: 0, count: HMACSHA256.byteCount)
                var state = crypto_auth_hmacsha256_state()
                var filled = 0
                var counter: UInt8 = 1
                while filled < outputByteCount {
                    _ = crypto_auth_hmacsha256_init(&state, key.bytePointer, key.count)
                    if filled > 0 { _ = crypto_auth_hmacsha256_update(&state, block, UInt64(block.count)) }
                    _ = crypto_auth_hmacsha256_update(&state, info, UInt64(info.count))
                    _ = crypto_auth_hmacsha256_update(&state, &counter, 1)
                    _ = crypto_auth_hmacsha256_final(&state, &block)
                    let taken = min(block.count, outputByteCount - filled)
                    block.withUnsafeBytes { (out.baseAddress! + filled).copyMemory(from: $0.baseAddress!, byteCount: taken) }
                    filled += taken
                    counter &+= 1
                }
                sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
                block.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
            }
        }
    }

    public static func deriveKey(
        inputKeyMaterial: SecureBytes, salt: [UInt8], info: [UInt8], outputByteCount: Int
    ) throws -> SecureBytes {
        try expand(
            pseudoRandomKey: extract(salt: salt, inputKeyMaterial: inputKeyMaterial),
            info: info, outputByteCount: outputByteCount)
    }

    public static func deriveKey(
        inputKeyMaterial: SecureBytes, salt: SecureBytes, info: [UInt8], outputByteCount: Int
    ) throws -> SecureBytes {
        try expand(
            pseudoRandomKey: extract(salt: salt, inputKeyMaterial: inputKeyMaterial),
            info: info, outputByteCount: outputByteCount)
    }
}

extension SecureBytes {
    /// Splits derived key material into consecutive pieces of the given sizes.
    public func split(_ sizes: [Int]) -> [SecureBytes] {
        precondition(sizes.reduce(0, +) == count, "split sizes must cover the bytes exactly")
        return withUnsafeBytes { raw in
            var offset = 0
            return sizes.map { size in
                defer { offset += size }
                return SecureBytes(raw[offset..<offset + size])
            }
        }
    }
}
