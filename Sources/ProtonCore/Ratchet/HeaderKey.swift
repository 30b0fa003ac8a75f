import ProtonCrypto

/// A header-encryption key (Signal spec, section 4: HKs, HKr, NHKs, NHKr). One key encrypts
/// every header of a chain, so each header gets a random 192-bit nonce.
struct HeaderKey: Sendable {
    let key: XChaCha20Poly1305.Key

    init(_ secret: SecureBytes) throws {
        key = try XChaCha20Poly1305.Key(secret)
    }

    var secret: SecureBytes { key.secretBytes }

    /// HENCRYPT: nonce || AEAD(header). A header with KEM fields is a version 3 message's, and
    /// authenticated as one (its own associated data), so no version can pass for the other.
    func seal(_ header: RatchetHeader, random: some RandomSource) -> [UInt8] {
        let nonce = random.bytes(XChaCha20Poly1305.nonceByteCount)
        return nonce
            + (try! XChaCha20Poly1305.seal(
                header.encoded(), using: key, nonce: nonce, authenticating: Self.associatedData(hybrid: !header.kem.isEmpty)))
    }

    /// HDECRYPT: the header, or nil when this key does not open it.
    func open(_ sealed: [UInt8]) -> RatchetHeader? {
        let kemByteCount = sealed.count - RatchetHeader.sealedByteCount
        guard let present = KEMFields.presence(byteCount: kemByteCount) else { return nil }
        let nonce = Array(sealed[0..<XChaCha20Poly1305.nonceByteCount])
        let body = Array(sealed[XChaCha20Poly1305.nonceByteCount...])
        let hybrid = present.key || present.ciphertext
        guard let plain = try? XChaCha20Poly1305.open(body, using: key, nonce: nonce, authenticating: Self.associatedData(hybrid: hybrid))
        else {
            return nil
        }
        return try? RatchetHeader(decoding: plain)
    }

    /// The header of whichever of the message's splits this key opens (at most one can: a
    /// split's length fixes which fields its header would hold, and the AEAD covers them).
    func open(_ message: DoubleRatchet.ParsedMessage) -> (RatchetHeader, DoubleRatchet.Split)? {
        for split in message.splits {
            if let header = open(split.sealedHeader) { return (header, split) }
        }
        return nil
    }

    func isSameKey(as other: HeaderKey) -> Bool { secret.isEqual(to: other.secret) }

    private static let classicalAssociatedData = Array("Proton ratchet header".utf8)
    private static let hybridAssociatedData = Array("Proton ratchet header ML-KEM-768".utf8)
    private static func associatedData(hybrid: Bool) -> [UInt8] { hybrid ? hybridAssociatedData : classicalAssociatedData }
}
