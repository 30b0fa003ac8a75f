import Foundation
import ProtonClient
import ProtonCore
import ProtonStore

/// Everything public about one relationship, as `show --json` and `export-state` print it.
/// Holds no secret: the ratchet state and address keys are added by `export-state
/// --include-secrets` alone.
struct ContactDetail: Encodable {
    struct PersonaRef: Encodable {
        let id: String
        let displayName: String?
    }

    let id: String
    let name: String?
    let relationshipID: String
    let persona: PersonaRef
    let role: String
    /// The peer's Ed25519 identity key, base64url.
    let peerIdentity: String
    let peerFingerprint: String
    /// Sixty digits in twelve groups of five.
    let safetyNumber: String
    /// Whether a stored attestation of the peer's key verifies, its checkpoint consistent with
    /// the directory's log as this profile follows it.
    let verified: Bool
    /// The attested `name@namespace`, when verified.
    let verifiedName: String?
    /// An attestation that verifies but whose checkpoint awaits the directory's consistency
    /// proof (presented in an invite or a pairing while offline): never shown as verified.
    let pendingName: String?
    let established: Date
    let updated: Date
    let messagesSent: UInt64
    let messagesReceived: UInt64
    let messagesLogged: Int
    let blocked: Bool
    /// When this contact's device was last seen sending from an old copy of its state.
    let peerSentFromOldStateAt: Date?
    /// When this contact last said that this profile sent from an old copy of its state.
    let weSentFromOldStateReportedAt: Date?
    /// Since when messages at this relationship's own addresses could not be read (the
    /// contact's device moved on past this copy of the profile, or they were altered on the
    /// way), and how many; nil and 0 while every message could.
    let unreadableSince: Date?
    let unreadableCount: UInt32
    let ourRoutes: [RouteEntry]
    let theirRoutes: [RouteEntry]
    let rotation: RotationEntry

    init(_ contact: Contact, now: Date, names: (verified: String?, pending: String?) = (nil, nil)) {
        let proton = contact.proton
        id = contact.summary.id.rawValue
        name = proton.peerDisplayName
        relationshipID = proton.relationshipID
        persona = PersonaRef(id: contact.summary.personaID.rawValue, displayName: contact.persona?.displayName)
        role = proton.role == .initiator ? "initiator" : "responder"
        peerIdentity = proton.peerIdentity.rawRepresentation.base64URL
        peerFingerprint = proton.peerIdentity.description
        safetyNumber = proton.safetyNumber.description
        verified = names.verified != nil
        verifiedName = names.verified
        pendingName = names.pending
        established = proton.establishedAt
        updated = contact.summary.updated
        messagesSent = proton.messagesSent
        messagesReceived = proton.messagesReceived
        messagesLogged = contact.loggedMessages
        blocked = proton.isBlocked
        peerSentFromOldStateAt = proton.peerStaleStateSeenAt
        weSentFromOldStateReportedAt = proton.ourStaleStateReportedAt
        unreadableSince = proton.unreadableSince
        unreadableCount = proton.unreadableCount
        ourRoutes = proton.ownRoutes.map(RouteEntry.init(own:))
        theirRoutes = proton.peerRoutes.map(RouteEntry.init(peer:))
        rotation = RotationEntry(proton, now: now)
    }
}
