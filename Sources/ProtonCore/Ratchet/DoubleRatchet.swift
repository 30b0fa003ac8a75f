import Foundation
import ProtonCrypto

/// The Double Ratchet with header encryption (Signal, "The Double Ratchet Algorithm",
/// revision 3, section 4), over X25519, HKDF-SHA-256, HMAC-SHA-256 and XChaCha20-Poly1305,
/// with ML-KEM-768 steps mixed into its DH steps (SimpleX's post-quantum double ratchet,
/// docs/rfcs/2023-09-30-pq-double-ratchet.md, with one KEM in play at a time): each sending
/// chain either offers a fresh encapsulation key or answers the key the peer offered last with a
/// ciphertext, whose secret both sides mix into the root key at that DH step. So a KEM secret
/// enters the root key at every second DH step (N = 2, docs/wire-format.md "Version 3: hybrid
/// chains"), and every chain from the answering one on depends on it.
///
/// A value type: `decrypt` works on a copy and replaces `self` only when the message
/// authenticated, so a refused message leaves the state byte-for-byte as it was.
public struct DoubleRatchet: Sendable {
    /// Plaintexts are padded to the smallest of these sizes that holds them plus the padding
    /// marker, so a ciphertext's length reveals only its bucket.
    /// A hybrid chain's KEM fields share the bucket with the plaintext (so a message's length
    /// tells its bucket, not which fields it carries).
    public static let paddingBuckets = [256, 1280, 4096, 16384, 65536]
    /// The same for every chain, whatever its KEM fields: the largest bucket less the most they
    /// can take (a key and a ciphertext), less the padding marker.
    public static var maximumPlaintextByteCount: Int { paddingBuckets.last! - KEMFields.maximumByteCount - 1 }
    /// The ratchet message's wire versions: 2 carries a random body nonce (version 1's constant
    /// nonce is refused as an unknown version); 3 is a hybrid chain's, whose header carries KEM
    /// fields (and no lengths).
    public static let messageVersion: UInt8 = 2
    public static let hybridMessageVersion: UInt8 = 3
    /// The wire length of a message whose plaintext fell in `bucket`: version 3 (`hybrid`), what
    /// every chain started by this version sends, or version 2, a classical chain's.
    public static func ciphertextByteCount(bucket: Int, hybrid: Bool = true) -> Int {
        2 + RatchetHeader.sealedByteCount + XChaCha20Poly1305.nonceByteCount + (hybrid ? 0 : 4) + bucket + XChaCha20Poly1305.tagByteCount
    }
    static var maximumMessageByteCount: Int { ciphertextByteCount(bucket: paddingBuckets.last!, hybrid: false) }

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
    /// The KEM state. `kemKey`: ours, whose encapsulation key the current sending chain offers,
    /// until the peer's answer uses it (SimpleX's PQRs). `sendingKEMCiphertext`: the current
    /// sending chain's answer to the peer's last offer (PQRenc_ss). `requiresKEM`: the peer's
    /// chains must carry KEM fields (set by the first that does), so that no one can take the
    /// post-quantum part out once both sides have it; until then an outstanding `kemKey`
    /// already demands the answer.
    var kemKey: MLKEM.PrivateKey?
    var sendingKEMCiphertext: [UInt8]?
    public internal(set) var requiresKEM = false
    /// Offer a key in every chain, answering or not (SimpleX's every-step pattern), rather than
    /// in every chain that does not answer. A local choice: each side reads what the other's
    /// headers carry. A KEM secret enters at every DH step (N = 1) only when both sides offer
    /// every step; one side alone still gives N = 2, with its own headers the larger.
    let offersEveryStep: Bool

    /// A receiving chain the peer moved on from: its header key, and how many messages it held
    /// as the peer's next header said (its PN; `UInt32.max` where unknown, in a state saved
    /// before lengths were kept).
    struct EndedChain: Sendable {
        let headerKey: HeaderKey
        let length: UInt32
    }

    /// RatchetInitAliceHE: the side that sends first, knowing the peer's ratchet public key
    /// (its signed prekey).
    /// With `offersFirstKEMKey`, its first chain offers a KEM key, which the responder's first
    /// chain answers; without (a first message that must stay small: an offline reply's QR
    /// code), the responder's first chain offers one and our next chain answers. A state from
    /// a version before KEM steps is like the second.
    public init(
        initiating seed: RatchetSeed, peerRatchetKey: X25519.PublicKey, random: some RandomSource,
        limits: SkippedMessageKeys.Limits = .init(), offersFirstKEMKey: Bool = true, offersEveryStep: Bool = false
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
        kemKey = offersFirstKEMKey ? MLKEM.PrivateKey(using: random) : nil
        self.offersEveryStep = offersEveryStep
    }

    /// RatchetInitBobHE: the side that waits for the first message, holding the key pair whose
    /// public half the initiator used. Its first chain answers the initiator's offer, or offers
    /// a key if the initiator's first chain made none; from then on every chain of the peer must
    /// carry the KEM field due (`RatchetError.postQuantumStepMissing`).
    public init(
        responding seed: RatchetSeed, ourRatchetKey: X25519.PrivateKey, limits: SkippedMessageKeys.Limits = .init(),
        offersEveryStep: Bool = false
    ) {
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
        self.offersEveryStep = offersEveryStep
    }

    /// The KEM fields every message of the current sending chain carries (they share the
    /// padding bucket with the plaintext).
    var sendingKEMFields: KEMFields { KEMFields(key: kemKey?.publicKey.rawRepresentation, ciphertext: sendingKEMCiphertext) }

    /// True once this side holds a sending chain (the responder gets one on its first receipt).
    public var canSend: Bool { sendingChain != nil && sendingHeaderKey != nil }

    /// RatchetEncryptHE (section 4.3): pads, advances the sending chain, encrypts the header
    /// and the body. `associatedData` binds the message to the relationship (X3DH's AD).
    public mutating func encrypt(_ plaintext: [UInt8], associatedData: [UInt8], random: some RandomSource) throws -> [UInt8] {
        guard let chain = sendingChain, let headerKey = sendingHeaderKey else { throw RatchetError.cannotSendYet }
        guard plaintext.count <= Self.maximumPlaintextByteCount else {
            throw RatchetError.plaintextTooLarge(limit: Self.maximumPlaintextByteCount)
        }
        let kem = sendingKEMFields
        // The fields and the plaintext fill the bucket together.
        let bucket = Self.paddingBuckets.first { plaintext.count + kem.byteCount < $0 }!
        let step = chain.advance()
        let header = RatchetHeader(
            ratchetKey: sendingRatchetKey.publicKey, previousChainLength: previousSendingChainLength,
            messageNumber: sendingMessageNumber, kem: kem)
        let sealedHeader = headerKey.seal(header, random: random)
        let version = kem.isEmpty ? Self.messageVersion : Self.hybridMessageVersion
        let nonce = random.bytes(XChaCha20Poly1305.nonceByteCount)
        let body = step.message.seal(
            Padding.pad(plaintext, toBlockSize: bucket - kem.byteCount), nonce: nonce,
            associatedData: Self.bodyAssociatedData(associatedData, sealedHeader, version: version))
        sendingChain = step.chain
        sendingMessageNumber += 1

        var writer = WireWriter(format: .ratchetMessage, version: version, capacity: 32 + sealedHeader.count + body.count)
        writer.fixed(sealedHeader)
        writer.fixed(nonce)
        // Version 3 writes no length, which would tell the KEM fields apart (`parse`).
        if kem.isEmpty { writer.long(body) } else { writer.fixed(body) }
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

    /// A message's parts. A version 3 message shows no lengths: its sealed header's length
    /// depends on the KEM fields inside, so it may split in up to three ways (one per
    /// combination of fields its bucket has room for); the header key that opens one of them
    /// tells which (`HeaderKey.open(_:)`).
    struct ParsedMessage {
        let version: UInt8
        let splits: [Split]
    }

    struct Split {
        let sealedHeader: [UInt8]
        let nonce: [UInt8]
        let body: [UInt8]
    }

    static func parse(_ message: [UInt8]) throws(RatchetError) -> ParsedMessage {
        do {
            var reader = try WireReader(
                message, format: .ratchetMessage, maximumSize: maximumMessageByteCount, versions: messageVersion...hybridMessageVersion)
            if reader.version == messageVersion {
                let header = try reader.fixed(RatchetHeader.sealedByteCount, "sealed header")
                let nonce = try reader.fixed(XChaCha20Poly1305.nonceByteCount, "body nonce")
                let body = try reader.long("body", limit: paddingBuckets.last! + XChaCha20Poly1305.tagByteCount)
                try reader.finish()
                guard paddingBuckets.contains(body.count - XChaCha20Poly1305.tagByteCount) else {
                    throw WireError.invalidValue(field: "body", reason: "length is not a padding bucket")
                }
                return ParsedMessage(version: messageVersion, splits: [Split(sealedHeader: header, nonce: nonce, body: body)])
            }
            // Version 3: 2 + sealed header (80 + KEM fields) + nonce + body (bucket − fields + 16).
            let bucket = message.count - ciphertextByteCount(bucket: 0)
            guard paddingBuckets.contains(bucket) else {
                throw WireError.invalidValue(field: "ratchet message", reason: "length is not a padding bucket")
            }
            let splits = [MLKEM.publicKeyByteCount, MLKEM.ciphertextByteCount, KEMFields.maximumByteCount].compactMap { fields -> Split? in
                // At least the padding marker beside the fields.
                guard fields < bucket else { return nil }
                let headerEnd = 2 + RatchetHeader.sealedByteCount(kemByteCount: fields)
                let nonceEnd = headerEnd + XChaCha20Poly1305.nonceByteCount
                return Split(
                    sealedHeader: Array(message[2..<headerEnd]), nonce: Array(message[headerEnd..<nonceEnd]),
                    body: Array(message[nonceEnd...]))
            }
            return ParsedMessage(version: hybridMessageVersion, splits: splits)
        } catch let error as WireError {
            throw .malformed(error)
        } catch {
            throw .malformed(.invalidValue(field: "ratchet message", reason: "\(error)"))
        }
    }

    private mutating func decryptParsed(
        _ parsed: ParsedMessage, _ message: [UInt8], associatedData: [UInt8], now: Date, random: some RandomSource
    ) throws(RatchetError) -> [UInt8] {
        skippedKeys.removeExpired(now: now)
        if !skippedKeys.isEmpty, let skipped = skippedKeys.take(for: parsed) {
            let plaintext = try skipped.key.open(
                skipped.split.body, nonce: skipped.split.nonce,
                associatedData: Self.bodyAssociatedData(associatedData, skipped.split.sealedHeader, version: parsed.version))
            receipts.record(chain: skipped.chain, messageNumber: skipped.header.messageNumber, message: skipped.split.sealedHeader)
            return plaintext
        }

        let header: RatchetHeader
        let split: Split
        if let current = receivingHeaderKey, let opened = current.open(parsed) {
            (header, split) = opened
            if header.messageNumber < receivingMessageNumber {
                throw receipts.classify(chain: ReceiptLog.chainTag(current), messageNumber: header.messageNumber, message: split.sealedHeader)
            }
        } else if let opened = nextReceivingHeaderKey.open(parsed) {
            (header, split) = opened
            try skipMessageKeys(until: header.previousChainLength, now: now)
            try ratchetStep(header, random: random)
        } else {
            // A header of an earlier chain with no skipped key left: a message at a position
            // already used there.
            for previous in previousReceivingChains.reversed() {
                if let (opened, split) = previous.headerKey.open(parsed) {
                    // Past the end the peer gave that chain when it moved on: only a copy of
                    // its state from before it moved on sends there.
                    if opened.messageNumber >= previous.length { throw .staleSenderState }
                    throw receipts.classify(
                        chain: ReceiptLog.chainTag(previous.headerKey), messageNumber: opened.messageNumber, message: split.sealedHeader)
                }
            }
            throw .undecryptableHeader
        }
        try skipMessageKeys(until: header.messageNumber, now: now)
        guard let chain = receivingChain, let headerKey = receivingHeaderKey else { throw .undecryptableHeader }
        let step = chain.advance()
        receivingChain = step.chain
        receivingMessageNumber += 1
        let plaintext = try step.message.open(
            split.body, nonce: split.nonce, associatedData: Self.bodyAssociatedData(associatedData, split.sealedHeader, version: parsed.version))
        receipts.record(chain: ReceiptLog.chainTag(headerKey), messageNumber: header.messageNumber, message: split.sealedHeader)
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

    /// DHRatchetHE (section 4.3), with SimpleX's DHRatchetPQ2HE KEM steps: the peer's
    /// ciphertext (an answer to our offered key) is decapsulated into the receiving half, and
    /// the peer's offered key is answered in the sending half. The header's PN is how many
    /// messages the chain that ends here held.
    private mutating func ratchetStep(_ header: RatchetHeader, random: some RandomSource) throws(RatchetError) {
        let peerRatchetKey = header.ratchetKey
        let endingChainLength = header.previousChainLength
        // What the peer's new chain must carry: some field once the relationship is hybrid, and
        // an answer when we offered a key (the peer saw the offer: it moves to a new chain only
        // after a message of the chain carrying it). Nothing else can take them out: the header
        // is authenticated under keys only the two sides hold.
        if header.kem.isEmpty, requiresKEM { throw .postQuantumStepMissing }
        let receivedSecret: SecureBytes?
        switch (header.kem.ciphertext, kemKey) {
        case (nil, nil): receivedSecret = nil
        case (nil, .some): throw .postQuantumStepMissing
        case (.some, nil): throw .unexpectedKEMCiphertext
        case (.some(let ciphertext), .some(let key)):
            // A ciphertext of the right length always decapsulates (FIPS 203's implicit
            // rejection); a tampered one gives another secret, and the body then fails.
            do { receivedSecret = try key.decapsulate(ciphertext) } catch { throw .authenticationFailure }
        }
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
        if !header.kem.isEmpty { requiresKEM = true }
        do {
            let receiving = rootKey.advance(with: try sendingRatchetKey.sharedSecret(with: peerRatchetKey), kemSecret: receivedSecret)
            rootKey = receiving.root
            receivingChain = receiving.chain
            nextReceivingHeaderKey = receiving.nextHeader
            sendingRatchetKey = X25519.PrivateKey(using: random)
            // Our new chain answers the peer's offer, if it made one, and offers a key of ours
            // when it does not answer (or always, with `offersEveryStep`). A relationship
            // started before KEM steps existed offers its first key here: its upgrade.
            let answer = try header.kem.key.map { key throws(RatchetError) in
                if let replay = Self.encapsulationReplay { return replay(key) }
                // An offered key that is not an ML-KEM-768 encapsulation key (FIPS 203 section 7.2).
                do { return try MLKEM.encapsulate(toKey: key) } catch { throw .invalidRatchetKey }
            }
            sendingKEMCiphertext = answer?.ciphertext
            kemKey = answer == nil || offersEveryStep ? MLKEM.PrivateKey(using: random) : nil
            let sending = rootKey.advance(
                with: try sendingRatchetKey.sharedSecret(with: peerRatchetKey), kemSecret: answer?.sharedSecret)
            rootKey = sending.root
            sendingChain = sending.chain
            nextSendingHeaderKey = sending.nextHeader
        } catch {
            throw .invalidRatchetKey
        }
    }

    /// Encapsulations to use instead of fresh ones, in tests that replay a recorded exchange
    /// (the post-quantum claims' recorder): never set outside them, where every secret must be
    /// fresh. Task-local, so no other task ever sees it.
    @TaskLocal static var encapsulationReplay: (@Sendable (_ key: [UInt8]) -> MLKEM.Encapsulation)?

    /// CONCAT(AD, enc_header) of section 4.3.
    private static func bodyAssociatedData(_ associatedData: [UInt8], _ sealedHeader: [UInt8], version: UInt8) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(associatedData.count + sealedHeader.count + 2)
        bytes.append(WireFormat.ratchetMessage.rawValue)
        bytes.append(version)
        bytes.append(contentsOf: associatedData)
        bytes.append(contentsOf: sealedHeader)
        return bytes
    }
}
