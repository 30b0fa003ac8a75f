import Foundation
import ProtonCrypto

/// A proton as listed, read without opening its sealed state.
public struct ProtonSummary: Sendable, Identifiable {
    public let id: ProtonID
    public let personaID: PersonaID
    /// `Proton.relationshipID`: the same on both sides.
    public let relationshipID: String
    public let peerIdentity: Ed25519.PublicKey
    public let peerDisplayName: String?
    public let created: Date
    public let updated: Date
}
