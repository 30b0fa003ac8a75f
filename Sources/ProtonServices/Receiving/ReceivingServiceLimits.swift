import Foundation
import ProtonCore

/// The bounds a receiving service enforces. Every size and count has one.
public struct ReceivingServiceLimits: Sendable, Equatable {
    /// Messages older than this are deleted (the default is 21 days).
    public var messageLifetime: TimeInterval
    /// The most messages one address may hold.
    public var maximumMessagesPerAddress: Int
    /// The most ciphertext bytes one address may hold.
    public var maximumBytesPerAddress: Int
    /// The largest request body accepted.
    public var maximumBodyByteCount: Int
    /// The longest a fetch may wait for a new message.
    public var maximumWait: TimeInterval
    /// The most messages one fetch returns; the owner fetches again after the last id.
    public var maximumMessagesPerFetch: Int
    /// How long a client may take to send a delivery's body (408 `body_too_slow` after).
    public var bodyTimeout: TimeInterval

    public init(
        messageLifetime: TimeInterval = 21 * 24 * 3600, maximumMessagesPerAddress: Int = 10_000,
        maximumBytesPerAddress: Int = 64 * 1024 * 1024, maximumBodyByteCount: Int = ServiceAPI.maximumBodyByteCount,
        maximumWait: TimeInterval = 30, maximumMessagesPerFetch: Int = 256, bodyTimeout: TimeInterval = 30
    ) {
        self.bodyTimeout = bodyTimeout
        self.messageLifetime = messageLifetime
        self.maximumMessagesPerAddress = maximumMessagesPerAddress
        self.maximumBytesPerAddress = maximumBytesPerAddress
        self.maximumBodyByteCount = maximumBodyByteCount
        self.maximumWait = maximumWait
        self.maximumMessagesPerFetch = maximumMessagesPerFetch
    }
}
