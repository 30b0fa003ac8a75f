import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// Completes a relationship started from one of our invites: an initial message arrived at the
/// invite's address. X3DH with the invite's prekey, the new proton, its first message and the
/// invite's consumption are one transaction; a refusal (expired, used, altered, not for this
/// invite) stores nothing and leaves the invite as it was.
enum FirstContact {
    /// How long after an invite's expiry its address is still polled: a message that reached
    /// the service before the expiry is accepted however late the agent runs.
    static let lateArrivalWindow: TimeInterval = 7 * 86_400

    private struct Refusal: Error {
        let reason: String
    }

    static func record(
        _ message: ServiceAPI.StoredMessage, inviteID: InviteID, at address: AddressID, store: ProfileStore, now: Date,
        random: some RandomSource
    ) throws -> ReceiveAgent.Outcome {
        guard let bytes = try? Base64URL.decode(message.ciphertext, limit: ServiceAPI.maximumCiphertextByteCount) else {
            return .inviteRefused("the service returned a ciphertext that is not base64url")
        }
        let initial: InitialMessage
        do { initial = try InitialMessage(decoding: bytes) } catch {
            return .inviteRefused("it is not an initial message (\(error))")
        }
        let arrived = Date(timeIntervalSince1970: TimeInterval(message.receivedAt))
        do {
            return try store.transaction { tx throws -> ReceiveAgent.Outcome in
                guard let pending = try tx.pendingInvite(at: address), pending.id == inviteID else {
                    throw Refusal(reason: InviteError.unknownInvite.description)
                }
                if let used = pending.used { throw Refusal(reason: InviteError.alreadyUsed(used).description) }
                guard arrived < pending.expires else { throw Refusal(reason: InviteError.expired(pending.expires).description) }
                guard initial.signedPrekey == pending.invite.prekey, initial.oneTimePrekey == nil, let inviteRoute = pending.route
                else { throw Refusal(reason: "it names a prekey that is not this invite's") }
                // An existing relationship with the sender refuses this start; the invite stays for someone else.
                let started = try ResponderStart.record(
                    in: tx, personaID: pending.personaID, initial: initial, signedPrekey: try tx.invitePrekey(pending.id), oneTimePrekey: nil,
                    context: .invite, firstContactRoute: inviteRoute, now: now, random: random)
                try tx.consumeInvite(pending.id, protonID: started.protonID, now: now)
                return .started(started.protonID, started.messageID, started.body, peerName: started.proton.peerDisplayName)
            }
        } catch let refusal as Refusal {
            return .inviteRefused(refusal.reason)
        } catch let refusal as ResponderStart.Refusal {
            return .inviteRefused(refusal.kind == .ownPersona ? InviteError.ownInvite.description : refusal.reason)
        }
    }

    /// A second initial message to an invite that has started a relationship already.
    static func refusalOfSecondUse(_ bytes: [UInt8], at address: AddressID, tx: StoreTransaction) throws -> ReceiveAgent.Outcome? {
        // The cheap parse first: most messages that reach here are ratchet messages.
        guard let initial = try? InitialMessage(decoding: bytes), let pending = try tx.pendingInvite(at: address),
            let used = pending.used, initial.signedPrekey == pending.invite.prekey
        else { return nil }
        return .inviteRefused(InviteError.alreadyUsed(used).description)
    }
}
