import ProtonCrypto

/// A header-encryption key (Signal spec, section 4: HKs, HKr, NHKs, NHKr). One key encrypts
/// every header of a chain, so each header gets a random 192-bit nonce.
struct HeaderKey: Sendable {
    let key: XChaCha20Poly1305.Key

    init(_ secret: SecureBytes) throws {
        key = try XChaCha20Poly1305.Key(secret)
    }

    var secret: SecureBytes { key.secretBytes }

    /// HENCRYPT: nonce || AEAD(header).
    func seal(_ header: RatchetHeader, random: some RandomSource) -> [UInt8] {
        let nonce = random.bytes(XChaCha20Poly1305.nonceByteCount)
        return nonce + (try! XChaCha20Poly1305.seal(header.encoded(), using: key, nonce: nonce, authenticating: Self.associatedData))
    }

    /// HDECRYPT: the header, or nil when this key does not open it.
    func open(_ sealed: [UInt8]) -> RatchetHeader? {
        guard sealed.count == RatchetHeader.sealedByteCount else { return nil }
        let nonce = Array(sealed[0..<XChaCha20Poly1305.nonceByteCount])
        let body = Array(sealed[XChaCha20Poly1305.nonceByteCount...])
        guard let plain = try? XChaCha20Poly1305.open(body, using: key, nonce: nonce, authenticating: Self.associatedData) else {
            return nil
        }
        return try? RatchetHeader(decoding: plain)
    }

    func isSameKey(as other: HeaderKey) -> Bool { secret.isEqual(to: other.secret) }

    private static let associatedData = Array("Proton ratchet header".utf8)
}
