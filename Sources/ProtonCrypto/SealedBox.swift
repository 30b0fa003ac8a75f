import CSodium

/// Anonymous public-key encryption in libsodium's sealed-box format (`crypto_box_seal`):
/// ephemeral X25519 key || crypto_box(message) with nonce = BLAKE2b(epk || pk).
///
/// Sealing takes its ephemeral key from a `RandomSource`, composing `crypto_box_easy` the way
/// `crypto_box_seal` does, so the output opens with `crypto_box_seal_open` and callers that
/// must stay deterministic (ProtonCore) can pass their randomness in.
public enum SealedBox {
    public static var overheadByteCount: Int { Int(crypto_box_sealbytes()) }

    public struct PublicKey: Hashable, Sendable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == Int(crypto_box_publickeybytes()) else {
                throw CryptoError.invalidLength(expected: Int(crypto_box_publickeybytes()), actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }
    }

    public struct PrivateKey: Sendable {
        let key: X25519.PrivateKey
        public var publicKey: PublicKey { try! PublicKey(rawRepresentation: key.publicKey.rawRepresentation) }

        public init(using random: some RandomSource = SystemRandom()) {
            key = X25519.PrivateKey(using: random)
        }

        public init(secretBytes: SecureBytes) throws {
            key = try X25519.PrivateKey(secretBytes: secretBytes)
        }

        public var secretBytes: SecureBytes { key.secret }
    }

    /// Throws `invalidPublicKey` for a recipient key whose shared secret would be all zeros (a
    /// low-order point), for which libsodium refuses to box.
    public static func seal(
        _ message: [UInt8], to recipient: PublicKey, using random: some RandomSource = SystemRandom()
    ) throws -> [UInt8] {
        Sodium.ensureInitialized()
        let ephemeral = X25519.PrivateKey(using: random)
        let epk = ephemeral.publicKey.rawRepresentation
        var nonce = [UInt8](repeating: 0, count: Int(crypto_box_noncebytes()))
        let nonceInput = epk + recipient.rawRepresentation
        _ = crypto_generichash(&nonce, nonce.count, nonceInput, UInt64(nonceInput.count), nil, 0)

        var out = epk + [UInt8](repeating: 0, count: message.count + Int(crypto_box_macbytes()))
        let status = ephemeral.secret.withUnsafeBytes { esk in
            out.withUnsafeMutableBufferPointer { buffer in
                crypto_box_easy(
                    buffer.baseAddress! + epk.count, message, UInt64(message.count), nonce,
                    recipient.rawRepresentation, esk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0 else { throw CryptoError.invalidPublicKey }
        return out
    }

    public static func open(_ sealed: [UInt8], with recipient: PrivateKey) throws -> [UInt8] {
        Sodium.ensureInitialized()
        guard sealed.count >= overheadByteCount else { throw CryptoError.authenticationFailure }
        var out = [UInt8](repeating: 0, count: sealed.count - overheadByteCount)
        let status = recipient.key.secret.withUnsafeBytes { sk in
            crypto_box_seal_open(
                &out, sealed, UInt64(sealed.count), recipient.key.publicKey.rawRepresentation,
                sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw CryptoError.authenticationFailure }
        return out
    }
}

extension SealedBox.PublicKey: CustomStringConvertible {
    public var description: String { "sealed:" + shortFingerprint(rawRepresentation) }
}
