import ProtonCrypto

/// HEADER(dh_pair, pn, n) (Signal spec, section 3.1): the sender's current ratchet public key,
/// the length of its previous sending chain, and this message's number in the current chain.
struct RatchetHeader: Equatable, Sendable {
    static let byteCount = 32 + 4 + 4
    static let sealedByteCount = XChaCha20Poly1305.nonceByteCount + byteCount + XChaCha20Poly1305.tagByteCount

    let ratchetKey: X25519.PublicKey
    let previousChainLength: UInt32
    let messageNumber: UInt32

    init(ratchetKey: X25519.PublicKey, previousChainLength: UInt32, messageNumber: UInt32) {
        self.ratchetKey = ratchetKey
        self.previousChainLength = previousChainLength
        self.messageNumber = messageNumber
    }

    func encoded() -> [UInt8] {
        var writer = WireWriter(nestedCapacity: Self.byteCount)
        writer.fixed(ratchetKey.rawRepresentation)
        writer.uint32(previousChainLength)
        writer.uint32(messageNumber)
        return writer.bytes
    }

    init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(nested: bytes)
        let key = try reader.fixed(32, "ratchet key")
        previousChainLength = try reader.uint32("previous chain length")
        messageNumber = try reader.uint32("message number")
        try reader.finish()
        ratchetKey = try! X25519.PublicKey(rawRepresentation: key)
    }
}
