import Foundation

/// One entry of the message log.
public struct StoredMessage: Sendable, Identifiable, Equatable {
    public enum Direction: String, Sendable, Codable {
        case incoming = "in"
        case outgoing = "out"
    }

    public let id: Int64
    public let protonID: ProtonID
    public let direction: Direction
    public let body: [UInt8]
    /// Incoming: our address (hex) it arrived at. Outgoing: the peer's address (hex) tried first.
    public let address: String?
    public let timestamp: Date
}
