import Foundation
import ProtonCore
import ProtonCrypto

/// An invite we printed, as the store keeps it: the invite, the persona it is for, and its
/// address with the key that owns it. Its prekey's private key stays in the store until the
/// invite is used, and is erased then.
public struct PendingInvite: Sendable {
    public let id: InviteID
    public let personaID: PersonaID
    public let invite: Invite
    /// The invite's route with its auth key; nil once the invite is used (the address then
    /// belongs to the relationship it started).
    public let route: OwnRoute?
    public let created: Date
    public let used: Date?
    public let protonID: ProtonID?

    public var expires: Date { invite.expires }
    public var address: AddressID { invite.route.address }
}
