import Foundation
import ProtonCrypto

/// A message key kept for a message that has not arrived yet (Signal spec, section 3.2: MKSKIPPED,
/// indexed by header key and message number in the header-encryption variant).
public struct SkippedMessageKey: Sendable {
    public let headerKey: SecureBytes
    public let messageNumber: UInt32
    public let messageKey: SecureBytes
    public let storedAt: Date

    public init(headerKey: SecureBytes, messageNumber: UInt32, messageKey: SecureBytes, storedAt: Date) {
        self.headerKey = headerKey
        self.messageNumber = messageNumber
        self.messageKey = messageKey
        self.storedAt = storedAt
    }
}

/// The bounded store of skipped message keys: at most `capacity` keys (the oldest go first) and
/// none older than `lifetime`. Section 8 of the spec asks for both bounds.
public struct SkippedMessageKeys: Sendable {
    public struct Limits: Sendable, Equatable {
        /// MAX_SKIP: the most messages one header may ask us to skip in a chain.
        public var maximumSkip: Int
        /// The most keys kept across all chains.
        public var capacity: Int
        /// How long a skipped key is kept.
        public var lifetime: TimeInterval

        public init(maximumSkip: Int = 1000, capacity: Int = 2000, lifetime: TimeInterval = 14 * 24 * 3600) {
            self.maximumSkip = maximumSkip
            self.capacity = capacity
            self.lifetime = lifetime
        }
    }

    public let limits: Limits
    /// Oldest first.
    public private(set) var entries: [SkippedMessageKey]

    public init(limits: Limits = Limits(), entries: [SkippedMessageKey] = []) {
        self.limits = limits
        self.entries = entries.sorted { $0.storedAt < $1.storedAt }
    }

    var isEmpty: Bool { entries.isEmpty }

    mutating func insert(headerKey: HeaderKey, messageNumber: UInt32, messageKey: MessageKey, now: Date) {
        entries.append(
            SkippedMessageKey(headerKey: headerKey.secret, messageNumber: messageNumber, messageKey: messageKey.secret, storedAt: now))
        if entries.count > limits.capacity {
            entries.removeFirst(entries.count - limits.capacity)
        }
    }

    mutating func removeExpired(now: Date) {
        guard !entries.isEmpty else { return }
        let cutoff = now.addingTimeInterval(-limits.lifetime)
        if let firstLive = entries.firstIndex(where: { $0.storedAt >= cutoff }) {
            if firstLive > 0 { entries.removeFirst(firstLive) }
        } else {
            entries.removeAll()
        }
    }

    /// TrySkippedMessageKeysHE (section 4.3): finds a header key that opens the header and a
    /// key stored for its message number, and takes that key out of the store.
    mutating func take(
        for message: DoubleRatchet.ParsedMessage
    ) -> (header: RatchetHeader, split: DoubleRatchet.Split, key: MessageKey, chain: [UInt8])? {
        var tried: [SecureBytes] = []
        for entry in entries where !tried.contains(where: { $0.isEqual(to: entry.headerKey) }) {
            tried.append(entry.headerKey)
            guard let headerKey = try? HeaderKey(entry.headerKey), let (header, split) = headerKey.open(message) else { continue }
            guard
                let index = entries.firstIndex(where: {
                    $0.messageNumber == header.messageNumber && $0.headerKey.isEqual(to: entry.headerKey)
                })
            else { return nil }
            let key = MessageKey(secret: entries[index].messageKey)
            entries.remove(at: index)
            return (header, split, key, ReceiptLog.chainTag(headerKey))
        }
        return nil
    }
}
