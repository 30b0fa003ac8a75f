import Foundation

/// When a side hands its peer a fresh address, and how long a replaced address keeps accepting
/// messages that were already on their way.
public struct RotationPolicy: Sendable, Equatable {
    /// Rotate after this many messages exchanged on the current address.
    public var messagesPerAddress: Int
    /// Rotate after an address has been in use this long.
    public var addressLifetime: TimeInterval
    /// After the peer acknowledges the new address, the old one still accepts messages this long
    /// (they may have been sent before the acknowledgement) and is then retired.
    public var retirementGrace: TimeInterval

    public init(messagesPerAddress: Int = 50, addressLifetime: TimeInterval = 7 * 24 * 3600, retirementGrace: TimeInterval = 3600) {
        self.messagesPerAddress = max(1, messagesPerAddress)
        self.addressLifetime = max(1, addressLifetime)
        self.retirementGrace = max(0, retirementGrace)
    }
}
