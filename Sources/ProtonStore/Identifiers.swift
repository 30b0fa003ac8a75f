import Foundation

/// A store id: a random UUID, so it can be bound into the associated data of a row's sealed
/// secrets before the row exists. `Kind` keeps a persona's id from being passed as a proton's.
public struct StoreID<Kind>: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    static func random() -> StoreID { StoreID(rawValue: UUID().uuidString.lowercased()) }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum PersonaIDKind {}
public enum ProtonIDKind {}

/// The store's id for a persona.
public typealias PersonaID = StoreID<PersonaIDKind>
/// The store's id for a proton (one side of one relationship).
public typealias ProtonID = StoreID<ProtonIDKind>

public enum InviteIDKind {}

/// The store's id for an invite we printed.
public typealias InviteID = StoreID<InviteIDKind>

public enum KeyPackageIDKind {}

/// The store's id for a key package we published.
public typealias KeyPackageID = StoreID<KeyPackageIDKind>
