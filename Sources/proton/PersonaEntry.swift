import Foundation
import ProtonStore

/// A persona as `persona list --json` and `init --json` print it: no secret.
struct PersonaEntry: Encodable {
    let id: String
    let displayName: String
    /// The Ed25519 public key, base64url.
    let identityKey: String
    let fingerprint: String
    let created: Date

    init(_ persona: StoredPersona) {
        id = persona.id.rawValue
        displayName = persona.displayName
        identityKey = persona.identityKey.rawRepresentation.base64URL
        fingerprint = persona.identityKey.description
        created = persona.created
    }
}
