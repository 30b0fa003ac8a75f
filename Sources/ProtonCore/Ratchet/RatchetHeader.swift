import ProtonCrypto

/// HEADER(dh_pair, pn, n) (Signal spec, section 3.1): the sender's current ratchet public key,
/// the length of its previous sending chain, and this message's number in the current chain;
/// in a hybrid chain (message version 3) followed by the chain's ML-KEM fields (`KEMFields`).
struct RatchetHeader: Equatable, Sendable {
    static let byteCount = 32 + 4 + 4
    /// The sealed size of a header without KEM fields (every version 2 header).
    static let sealedByteCount = sealedByteCount(kemByteCount: 0)
    static func sealedByteCount(kemByteCount: Int) -> Int {
        XChaCha20Poly1305.nonceByteCount + byteCount + kemByteCount + XChaCha20Poly1305.tagByteCount
    }

    let ratchetKey: X25519.PublicKey
    let previousChainLength: UInt32
    let messageNumber: UInt32
    let kem: KEMFields

    init(ratchetKey: X25519.PublicKey, previousChainLength: UInt32, messageNumber: UInt32, kem: KEMFields = .none) {
        self.ratchetKey = ratchetKey
        self.previousChainLength = previousChainLength
        self.messageNumber = messageNumber
        self.kem = kem
    }

    func encoded() -> [UInt8] {
        var writer = WireWriter(nestedCapacity: Self.byteCount + kem.byteCount)
        writer.fixed(ratchetKey.rawRepresentation)
        writer.uint32(previousChainLength)
        writer.uint32(messageNumber)
        if let key = kem.key { writer.fixed(key) }
        if let ciphertext = kem.ciphertext { writer.fixed(ciphertext) }
        return writer.bytes
    }

    /// The fields present are told by the length alone (each combination has its own).
    init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(nested: bytes)
        let key = try reader.fixed(32, "ratchet key")
        previousChainLength = try reader.uint32("previous chain length")
        messageNumber = try reader.uint32("message number")
        guard let present = KEMFields.presence(byteCount: reader.remaining) else {
            throw .invalidValue(field: "header KEM fields", reason: "no combination of fields is \(reader.remaining) bytes")
        }
        var fields = KEMFields.none
        // The offered key is checked (FIPS 203 section 7.2) where it is used, once per chain at
        // the DH step, not in every header that repeats it.
        if present.key { fields.key = try reader.fixed(MLKEM.publicKeyByteCount, "KEM key") }
        if present.ciphertext { fields.ciphertext = try reader.fixed(MLKEM.ciphertextByteCount, "KEM ciphertext") }
        try reader.finish()
        kem = fields
        ratchetKey = try! X25519.PublicKey(rawRepresentation: key)
    }
}

/// The ML-KEM fields every header of a hybrid sending chain repeats (so that any one of its
/// messages that arrives first completes the step): the encapsulation key the sender offers for
/// the peer's next step, and the ciphertext answering the key the peer offered last. Either may
/// be absent; the version 3 message carries at least one.
struct KEMFields: Equatable, Sendable {
    /// An ML-KEM-768 encapsulation key's bytes (unchecked until used).
    var key: [UInt8]?
    var ciphertext: [UInt8]?

    static let none = KEMFields()
    static let maximumByteCount = MLKEM.publicKeyByteCount + MLKEM.ciphertextByteCount

    var isEmpty: Bool { key == nil && ciphertext == nil }
    var byteCount: Int { (key == nil ? 0 : MLKEM.publicKeyByteCount) + (ciphertext == nil ? 0 : MLKEM.ciphertextByteCount) }

    static func presence(byteCount: Int) -> (key: Bool, ciphertext: Bool)? {
        switch byteCount {
        case 0: (false, false)
        case MLKEM.publicKeyByteCount: (true, false)
        case MLKEM.ciphertextByteCount: (false, true)
        case maximumByteCount: (true, true)
        default: nil
        }
    }
}
