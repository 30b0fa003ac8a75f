import Foundation
import ProtonCrypto

extension DoubleRatchet {
    /// Version 2 adds the receipt log and the earlier receiving header keys; version 3 the
    /// length of each earlier chain; version 4 the KEM state. Older states still load (what they
    /// lack empty, or the lengths unknown; without KEM state, the relationship offers its first
    /// KEM key at its next DH step).
    static let stateVersion: UInt8 = 4

    /// The ratchet's secret state, without the skipped keys (which the store keeps in a table
    /// of their own). Treat the result as secret.
    public func serializedState() -> SecureBytes {
        var writer = WireWriter(
            nestedCapacity: 580 + receipts.receipts.count * ReceiptLog.Receipt.byteCount + 3 + MLKEM.seedByteCount + MLKEM.publicKeyByteCount
                + MLKEM.ciphertextByteCount)
        writer.byte(Self.stateVersion)
        writer.secret(sendingRatchetKey.secretBytes)
        Self.writeOptional(receivingRatchetKey?.rawRepresentation, into: &writer)
        writer.secret(rootKey.secret)
        Self.writeOptionalSecret(sendingChain?.secret, into: &writer)
        Self.writeOptionalSecret(receivingChain?.secret, into: &writer)
        Self.writeOptionalSecret(sendingHeaderKey?.secret, into: &writer)
        Self.writeOptionalSecret(receivingHeaderKey?.secret, into: &writer)
        writer.secret(nextSendingHeaderKey.secret)
        writer.secret(nextReceivingHeaderKey.secret)
        writer.uint32(sendingMessageNumber)
        writer.uint32(receivingMessageNumber)
        writer.uint32(previousSendingChainLength)
        writer.uint32(UInt32(skippedKeys.limits.maximumSkip))
        writer.uint32(UInt32(skippedKeys.limits.capacity))
        writer.uint64(UInt64(skippedKeys.limits.lifetime))
        writer.byte(UInt8(previousReceivingChains.count))
        for chain in previousReceivingChains {
            writer.secret(chain.headerKey.secret)
            writer.uint32(chain.length)
        }
        writer.byte(UInt8(receipts.receipts.count))
        for receipt in receipts.receipts {
            writer.fixed(receipt.chain)
            writer.uint32(receipt.messageNumber)
            writer.fixed(receipt.digest)
        }
        writer.byte((requiresKEM ? 1 : 0) | (offersEveryStep ? 2 : 0))
        if let kemKey {
            writer.byte(1)
            writer.secret(kemKey.seed)
            writer.fixed(kemKey.publicKey.rawRepresentation)
        } else {
            writer.byte(0)
        }
        if let sendingKEMCiphertext {
            writer.byte(1)
            writer.fixed(sendingKEMCiphertext)
        } else {
            writer.byte(0)
        }
        return writer.takeSecret()
    }

    public init(serializedState: SecureBytes, skippedKeys: [SkippedMessageKey]) throws(WireError) {
        var bytes = serializedState.unsafeExportedBytes()
        defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        var reader = WireReader(nested: bytes)
        let version = try reader.byte("ratchet state version")
        guard (1...Self.stateVersion).contains(version) else {
            throw .invalidValue(field: "ratchet state", reason: "version \(version) is not supported")
        }
        var dhs = try reader.fixed(32, "DHs")
        sendingRatchetKey = try! X25519.PrivateKey(rawRepresentation: &dhs)
        receivingRatchetKey = try Self.readOptional(&reader, "DHr").map { try! X25519.PublicKey(rawRepresentation: $0) }
        rootKey = RootKey(secret: try Self.secret(&reader, 32, "RK"))
        sendingChain = try Self.readOptional(&reader, "CKs").map { ChainKey(secret: Self.consume($0)) }
        receivingChain = try Self.readOptional(&reader, "CKr").map { ChainKey(secret: Self.consume($0)) }
        sendingHeaderKey = try Self.readOptional(&reader, "HKs").map { try! HeaderKey(Self.consume($0)) }
        receivingHeaderKey = try Self.readOptional(&reader, "HKr").map { try! HeaderKey(Self.consume($0)) }
        // Read first, then wrapped: inside `try!` a read past the end would trap instead of throwing.
        let nextSending = try Self.secret(&reader, 32, "NHKs")
        let nextReceiving = try Self.secret(&reader, 32, "NHKr")
        nextSendingHeaderKey = try! HeaderKey(nextSending)
        nextReceivingHeaderKey = try! HeaderKey(nextReceiving)
        sendingMessageNumber = try reader.uint32("Ns")
        receivingMessageNumber = try reader.uint32("Nr")
        previousSendingChainLength = try reader.uint32("PN")
        let limits = SkippedMessageKeys.Limits(
            maximumSkip: Int(try reader.uint32("MAX_SKIP")), capacity: Int(try reader.uint32("skipped capacity")),
            lifetime: TimeInterval(try Self.lifetime(&reader)))
        if version >= 2 {
            let keyCount = Int(try reader.byte("earlier header key count"))
            guard keyCount <= ReceiptLog.previousHeaderKeyCapacity else {
                throw .oversized(field: "earlier header keys", limit: ReceiptLog.previousHeaderKeyCapacity, actual: keyCount)
            }
            for _ in 0..<keyCount {
                let secret = try Self.secret(&reader, 32, "earlier header key")
                let length = try version >= 3 ? reader.uint32("earlier chain length") : UInt32.max
                previousReceivingChains.append(EndedChain(headerKey: try! HeaderKey(secret), length: length))
            }
            let receiptCount = Int(try reader.byte("receipt count"))
            guard receiptCount <= ReceiptLog.capacity else {
                throw .oversized(field: "receipts", limit: ReceiptLog.capacity, actual: receiptCount)
            }
            var receipts: [ReceiptLog.Receipt] = []
            for _ in 0..<receiptCount {
                receipts.append(
                    ReceiptLog.Receipt(
                        chain: try reader.fixed(8, "receipt chain"), messageNumber: try reader.uint32("receipt number"),
                        digest: try reader.fixed(16, "receipt digest")))
            }
            self.receipts = ReceiptLog(receipts: receipts)
        }
        var everyStep = false
        if version >= 4 {
            let flags = try reader.byte("KEM flags")
            guard flags & ~3 == 0 else { throw .invalidValue(field: "KEM flags", reason: "unknown flag") }
            requiresKEM = flags & 1 != 0
            everyStep = flags & 2 != 0
            switch try reader.byte("KEM key presence") {
            case 0: break
            case 1:
                // Stored with its public key, so that loading expands nothing (`MLKEM.PrivateKey(seed:publicKey:)`).
                let seed = try Self.secret(&reader, MLKEM.seedByteCount, "KEM key")
                guard let publicKey = try? MLKEM.PublicKey(rawRepresentation: try reader.fixed(MLKEM.publicKeyByteCount, "KEM public key")) else {
                    throw .invalidValue(field: "KEM public key", reason: "not an ML-KEM-768 encapsulation key")
                }
                kemKey = try! MLKEM.PrivateKey(seed: seed, publicKey: publicKey)
            default: throw .invalidValue(field: "KEM key", reason: "bad presence flag")
            }
            switch try reader.byte("KEM ciphertext presence") {
            case 0: break
            case 1: sendingKEMCiphertext = try reader.fixed(MLKEM.ciphertextByteCount, "KEM ciphertext")
            default: throw .invalidValue(field: "KEM ciphertext", reason: "bad presence flag")
            }
        }
        offersEveryStep = everyStep
        try reader.finish()
        guard skippedKeys.count <= limits.capacity else {
            throw .oversized(field: "skipped keys", limit: limits.capacity, actual: skippedKeys.count)
        }
        // Stored apart from the state (and without a passphrase, in the clear): a key of the
        // wrong length would trap when first used, so it is refused here as damage.
        for entry in skippedKeys where entry.headerKey.count != 32 || entry.messageKey.count != 32 {
            throw .invalidValue(field: "skipped key", reason: "a header or message key is not 32 bytes")
        }
        self.skippedKeys = SkippedMessageKeys(limits: limits, entries: skippedKeys)
    }

    private static func writeOptional(_ value: [UInt8]?, into writer: inout WireWriter) {
        if let value {
            writer.byte(1)
            writer.fixed(value)
        } else {
            writer.byte(0)
        }
    }

    private static func writeOptionalSecret(_ value: SecureBytes?, into writer: inout WireWriter) {
        if let value {
            writer.byte(1)
            writer.secret(value)
        } else {
            writer.byte(0)
        }
    }

    /// A secret field read into zeroing storage; the reader's copy is zeroed.
    /// The skipped-key lifetime, at most 100 years: a larger one would not survive the next
    /// save (a Double past UInt64's range traps when written back).
    private static func lifetime(_ reader: inout WireReader) throws(WireError) -> UInt64 {
        let seconds = try reader.uint64("skipped lifetime")
        guard seconds <= 100 * 365 * 86_400 else { throw .invalidValue(field: "skipped lifetime", reason: "over 100 years") }
        return seconds
    }

    private static func secret(_ reader: inout WireReader, _ count: Int, _ field: String) throws(WireError) -> SecureBytes {
        consume(try reader.fixed(count, field))
    }

    private static func consume(_ bytes: [UInt8]) -> SecureBytes {
        var bytes = bytes
        return SecureBytes(consuming: &bytes)
    }

    private static func readOptional(_ reader: inout WireReader, _ field: String) throws(WireError) -> [UInt8]? {
        switch try reader.byte("\(field) presence") {
        case 0: return nil
        case 1: return try reader.fixed(32, field)
        default: throw .invalidValue(field: field, reason: "bad presence flag")
        }
    }
}
