import Foundation
import ProtonCore

/// A ciphertext waiting to be delivered, and the peer's routes to try in order.
public struct OutboxItem: Sendable, Identifiable {
    public let id: Int64
    public let protonID: ProtonID
    /// The log entry this ciphertext carries, if it is still in the log.
    public let messageID: Int64?
    public let ciphertext: [UInt8]
    public let routes: [Route]
    public let created: Date
    public let attempts: Int
    public let lastAttempt: Date?
}
