import Foundation
import ProtonCrypto

/// The Double Ratchet with header encryption (Signal, "The Double Ratchet Algorithm",
/// revision 3, section 4), over X25519, HKDF-SHA-256, HMAC-SHA-256 and XChaCha20-Poly1305.
///
/// A value type: `decrypt` works on a copy and replaces `self` only when the message
/// authenticated, so a refused message leaves the state byte-for-byte as it was.
public struct DoubleRatchet: Sendable {
    /// Plaintexts are padded to the smallest of these sizes that holds them plus the padding
    /// marker, so a ciphertext's length reveals only its bucket.
    public static let paddingBuckets = [256, 1280, 4096, 16384, 65536]
    public static var maximumPlaintextByteCount: Int { paddingBuckets.last! - 1 }
    /// The ratchet message's wire version: 2 carries a random body nonce (version 1's constant
    /// nonce is refused as an unknown version).
    public static let messageVersion: UInt8 = 2
    /// The wire length of a message whose plaintext fell in `bucket`.
    public static func ciphertextByteCount(bucket: Int) -> Int {
        2 + RatchetHeader.sealedByteCount + XChaCha20Poly1305.nonceByteCount + 4 + bucket + XChaCha20Poly1305.tagByteCount
    }
    static var maximumMessageByteCount: Int { ciphertextByteCount(bucket: paddingBuckets.last!) }

    // The state of section 3.2 / 4.2, under the spec's names where it has them.
    var sendingRatchetKey: X25519.PrivateKey            // DHs
    var receivingRatchetKey: X25519.PublicKey?          // DHr
    var rootKey: RootKey                                // RK
    var sendingChain: ChainKey?                         // CKs
    var receivingChain: ChainKey?                       // CKr
    var sendingHeaderKey: HeaderKey?                    // HKs
    var receivingHeaderKey: HeaderKey?                  // HKr
    var nextSendingHeaderKey: HeaderKey                 // NHKs
    var nextReceivingHeaderKey: HeaderKey               // NHKr
    var sendingMessageNumber: UInt32 = 0                // Ns
    var receivingMessageNumber: UInt32 = 0              // Nr
    var previousSendingChainLength: UInt32 = 0          // PN
    public internal(set) var skippedKeys: SkippedMessageKeys
    /// Recent receipts and earlier receiving header keys: what tells a duplicate from a peer
    /// that sent from an old copy of its state (`RatchetError.staleSenderState`).
    var receipts = ReceiptLog()
    var previousReceivingChains: [EndedChain] = []

    /// A receiving chain the peer moved on from: its header key, and how many messages it held
    /// as the peer's next header said (its PN; `UInt32.max` where unknown, in a state saved
    /// before lengths were kept).
    struct EndedChain: Sendable {
        let headerKey: HeaderKey
        let length: UInt32
    }

    /// RatchetInitAliceHE: the side that sends first, knowing the peer's ratchet public key
    /// (its signed prekey).
    public init(
        initiating seed: RatchetSeed, peerRatchetKey: X25519.PublicKey, random: some RandomSource,
        limits: SkippedMessageKeys.Limits = .init()
    ) throws {
        let ourKey = X25519.PrivateKey(using: random)
        let dh: SecureBytes
        do { dh = try ourKey.sharedSecret(with: peerRatchetKey) } catch { throw RatchetError.invalidRatchetKey }
        let step = seed.rootKey.advance(with: dh)
        sendingRatchetKey = ourKey
        receivingRatchetKey = peerRatchetKey
        rootKey = step.root
        sendingChain = step.chain
        nextSendingHeaderKey = step.nextHeader
        sendingHeaderKey = seed.initiatorHeaderKey
        receivingHeaderKey = nil
        nextReceivingHeaderKey = seed.responderNextHeaderKey
        skippedKeys = SkippedMessageKeys(limits: limits)
    }

    /// RatchetInitBobHE: the side that waits for the first message, holding the key pair whose
    /// public half the initiator used.
    public init(responding seed: RatchetSeed, ourRatchetKey: X25519.PrivateKey, limits: SkippedMessageKeys.Limits = .init()) {
        sendingRatchetKey = ourRatchetKey
        receivingRatchetKey = nil
        rootKey = seed.rootKey
        sendingChain = nil
        receivingChain = nil
        sendingHeaderKey = nil
        nextSendingHeaderKey = seed.responderNextHeaderKey
        receivingHeaderKey = nil
        nextReceivingHeaderKey = seed.initiatorHeaderKey
        skippedKeys = SkippedMessageKeys(limits: limits)
    }

    /// True once this side holds a sending chain (the responder gets one on its first receipt).
    public var canSend: Bool { sendingChain != nil && sendingHeaderKey != nil }

    /// RatchetEncryptHE (section 4.3): pads, advances the sending chain, encrypts the header
    /// and the body. `associatedData` binds the message to the relationship (X3DH's AD).
    public mutating func encrypt(_ plaintext: [UInt8], associatedData: [UInt8], random: some RandomSource) throws -> [UInt8] {
        guard let chain = sendingChain, let headerKey = sendingHeaderKey else { throw RatchetError.cannotSendYet }
        guard let bucket = Self.paddingBuckets.first(where: { plaintext.count < $0 }) else {
            throw RatchetError.plaintextTooLarge(limit: Self.maximumPlaintextByteCount)
        }
        let step = chain.advance()
        let header = RatchetHeader(
            ratchetKey: sendingRatchetKey.publicKey, previousChainLength: previousSendingChainLength,
            messageNumber: sendingMessageNumber)
        let sealedHeader = headerKey.seal(header, random: random)
        let nonce = random.bytes(XChaCha20Poly1305.nonceByteCount)
        let body = step.message.seal(
            Padding.pad(plaintext, toBlockSize: bucket), nonce: nonce, associatedData: Self.bodyAssociatedData(associatedData, sealedHeader))
        sendingChain = step.chain
        sendingMessageNumber += 1

        var writer = WireWriter(format: .ratchetMessage, version: Self.messageVersion, capacity: 30 + sealedHeader.count + body.count)
        writer.fixed(sealedHeader)
        writer.fixed(nonce)
        writer.long(body)
        return writer.bytes
    }

    /// RatchetDecryptHE (section 4.3), with replays refused by name rather than by a failed
    /// decryption. Expired skipped keys are dropped first, so `now` is the only clock.
    public mutating func decrypt(
        _ message: [UInt8], associatedData: [UInt8], now: Date, random: some RandomSource
    ) throws(RatchetError) -> [UInt8] {
        let parsed = try Self.parse(message)
        var next = self
        let padded = try next.decryptParsed(parsed, message, associatedData: associatedData, now: now, random: random)
        let plaintext: [UInt8]
        do { plaintext = try Padding.unpad(padded, blockSize: padded.count) } catch { throw .invalidPadding }
        self = next
        return plaintext
    }

    struct ParsedMessage {
        let sealedHeader: [UInt8]
        let nonce: [UInt8]
        let body: [UInt8]
    }

    static func parse(_ message: [UInt8]) throws(RatchetError) -> ParsedMessage {
        do {
            var reader = try WireReader(
                message, format: .ratchetMessage, maximumSize: maximumMessageByteCount, versions: messageVersion...messageVersion)
            let header = try reader.fixed(RatchetHeader.sealedByteCount, "sealed header")
            let nonce = try reader.fixed(XChaCha20Poly1305.nonceByteCount, "body nonce")
            let body = try reader.long("body", limit: paddingBuckets.last! + XChaCha20Poly1305.tagByteCount)
            try reader.finish()
            guard paddingBuckets.contains(body.count - XChaCha20Poly1305.tagByteCount) else {
                throw WireError.invalidValue(field: "body", reason: "length is not a padding bucket")
            }
            return ParsedMessage(sealedHeader: header, nonce: nonce, body: body)
        } catch let error as WireError {
            throw .malformed(error)
        } catch {
            throw .malformed(.invalidValue(field: "ratchet message", reason: "\(error)"))
        }
    }

    private mutating func decryptParsed(
        _ parsed: ParsedMessage, _ message: [UInt8], associatedData: [UInt8], now: Date, random: some RandomSource
    ) throws(RatchetError) -> [UInt8] {
        let bodyAD = Self.bodyAssociatedData(associatedData, parsed.sealedHeader)
        skippedKeys.removeExpired(now: now)
        if !skippedKeys.isEmpty, let skipped = skippedKeys.take(forSealedHeader: parsed.sealedHeader) {
            let plaintext = try skipped.key.open(parsed.body, nonce: parsed.nonce, associatedData: bodyAD)
            receipts.record(chain: skipped.chain, messageNumber: skipped.header.messageNumber, message: parsed.sealedHeader)
            return plaintext
        }

        let header: RatchetHeader
        if let current = receivingHeaderKey, let opened = current.open(parsed.sealedHeader) {
            header = opened
            if header.messageNumber < receivingMessageNumber {
                throw receipts.classify(chain: ReceiptLog.chainTag(current), messageNumber: header.messageNumber, message: parsed.sealedHeader)
            }
        } else if let opened = nextReceivingHeaderKey.open(parsed.sealedHeader) {
            header = opened
            try skipMessageKeys(until: header.previousChainLength, now: now)
            try ratchetStep(peerRatchetKey: header.ratchetKey, endingChainLength: header.previousChainLength, random: random)
        } else {
            // A header of an earlier chain with no skipped key left: a message at a position
            // already used there.
            for previous in previousReceivingChains.reversed() {
                if let opened = previous.headerKey.open(parsed.sealedHeader) {
                    // Past the end the peer gave that chain when it moved on: only a copy of
                    // its state from before it moved on sends there.
                    if opened.messageNumber >= previous.length { throw .staleSenderState }
                    throw receipts.classify(
                        chain: ReceiptLog.chainTag(previous.headerKey), messageNumber: opened.messageNumber, message: parsed.sealedHeader)
                }
            }
            throw .undecryptableHeader
        }
        try skipMessageKeys(until: header.messageNumber, now: now)
        guard let chain = receivingChain, let headerKey = receivingHeaderKey else { throw .undecryptableHeader }
        let step = chain.advance()
        receivingChain = step.chain
        receivingMessageNumber += 1
        let plaintext = try step.message.open(parsed.body, nonce: parsed.nonce, associatedData: bodyAD)
        receipts.record(chain: ReceiptLog.chainTag(headerKey), messageNumber: header.messageNumber, message: parsed.sealedHeader)
        return plaintext
    }

    /// SkipMessageKeysHE (section 4.3), refusing more than MAX_SKIP.
    private mutating func skipMessageKeys(until target: UInt32, now: Date) throws(RatchetError) {
        let requested = Int(target) - Int(receivingMessageNumber)
        guard requested <= skippedKeys.limits.maximumSkip else {
            throw .tooManySkippedMessages(requested: requested, limit: skippedKeys.limits.maximumSkip)
        }
        guard var chain = receivingChain, let headerKey = receivingHeaderKey else { return }
        while receivingMessageNumber < target {
            let step = chain.advance()
            skippedKeys.insert(headerKey: headerKey, messageNumber: receivingMessageNumber, messageKey: step.message, now: now)
            chain = step.chain
            receivingMessageNumber += 1
        }
        receivingChain = chain
    }

    /// DHRatchetHE (section 4.3).
    /// `endingChainLength` is the header's PN: how many messages the chain that ends here held.
    private mutating func ratchetStep(
        peerRatchetKey: X25519.PublicKey, endingChainLength: UInt32, random: some RandomSource
    ) throws(RatchetError) {
        previousSendingChainLength = sendingMessageNumber
        sendingMessageNumber = 0
        receivingMessageNumber = 0
        if let retiring = receivingHeaderKey {
            previousReceivingChains.append(EndedChain(headerKey: retiring, length: endingChainLength))
            let excess = previousReceivingChains.count - ReceiptLog.previousHeaderKeyCapacity
            if excess > 0 { previousReceivingChains.removeFirst(excess) }
        }
        sendingHeaderKey = nextSendingHeaderKey
        receivingHeaderKey = nextReceivingHeaderKey
        receivingRatchetKey = peerRatchetKey
        do {
            let receiving = rootKey.advance(with: try sendingRatchetKey.sharedSecret(with: peerRatchetKey))
            rootKey = receiving.root
            receivingChain = receiving.chain
            nextReceivingHeaderKey = receiving.nextHeader
            sendingRatchetKey = X25519.PrivateKey(using: random)
            let sending = rootKey.advance(with: try sendingRatchetKey.sharedSecret(with: peerRatchetKey))
            rootKey = sending.root
            sendingChain = sending.chain
            nextSendingHeaderKey = sending.nextHeader
        } catch {
            throw .invalidRatchetKey
        }
    }

    /// CONCAT(AD, enc_header) of section 4.3.
    private static func bodyAssociatedData(_ associatedData: [UInt8], _ sealedHeader: [UInt8]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(associatedData.count + sealedHeader.count + 2)
        bytes.append(WireFormat.ratchetMessage.rawValue)
        bytes.append(messageVersion)
        bytes.append(contentsOf: associatedData)
        bytes.append(contentsOf: sealedHeader)
        return bytes
    }
}
