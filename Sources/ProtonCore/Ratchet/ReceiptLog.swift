import ProtonCrypto

/// What the receiver remembers of the messages it opened recently, to tell a duplicate from a
/// peer that sent from an old copy of its state. A message is identified by its position (the
/// header key that opened it and its number in that chain) and a digest of its bytes: a
/// duplicate repeats the bytes, while a peer whose profile was restored from a backup or a
/// snapshot derives the same position again and fills it with new bytes (fresh nonces). Only
/// someone holding the peer's header key can make a header that opens at a position, so a
/// second, different message there can only come from the peer's own state.
struct ReceiptLog: Sendable, Equatable {
    /// The most receipts kept (newest last); also how far back a rollback can be told apart.
    static let capacity = 64
    /// The most previous receiving header keys kept, to recognise headers of older chains.
    static let previousHeaderKeyCapacity = 4

    struct Receipt: Sendable, Equatable {
        static let byteCount = 8 + 4 + 16
        /// The first 8 bytes of SHA-256 of the header key.
        let chain: [UInt8]
        let messageNumber: UInt32
        /// The first 16 bytes of SHA-256 of the sealed header: authenticated by the header key and
        /// sealed with a fresh random nonce, so a replay repeats it exactly (a tampered body cannot
        /// pass for a new message) and a restored sender's message never does.
        let digest: [UInt8]
    }

    private(set) var receipts: [Receipt] = []

    static func chainTag(_ headerKey: HeaderKey) -> [UInt8] {
        Array(SHA256.hash(headerKey.secret.unsafeExportedBytes()).prefix(8))
    }

    static func digest(_ message: [UInt8]) -> [UInt8] { Array(SHA256.hash(message).prefix(16)) }

    mutating func record(chain: [UInt8], messageNumber: UInt32, message: [UInt8]) {
        receipts.append(Receipt(chain: chain, messageNumber: messageNumber, digest: Self.digest(message)))
        if receipts.count > Self.capacity { receipts.removeFirst(receipts.count - Self.capacity) }
    }

    /// What a message at an already used position is: a duplicate if it repeats what came
    /// there (or if that position is no longer remembered), a rollback if it differs.
    func classify(chain: [UInt8], messageNumber: UInt32, message: [UInt8]) -> RatchetError {
        guard let earlier = receipts.last(where: { $0.chain == chain && $0.messageNumber == messageNumber }) else {
            return .duplicateMessage
        }
        return earlier.digest == Self.digest(message) ? .duplicateMessage : .staleSenderState
    }

    init() {}

    init(receipts: [Receipt]) {
        self.receipts = Array(receipts.suffix(Self.capacity))
    }
}
