import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// Completes a relationship started from one of our invites: an initial message arrived at the
/// invite's address. X3DH with the invite's prekey, the new proton, its first message and the
/// invite's consumption are one transaction; a refusal (expired, used, altered, not for this
/// invite) stores nothing and leaves the invite as it was.
enum FirstContact {
    /// How long after an invite's expiry its address is still polled, and a message that the
    /// service says reached it before the expiry is still accepted. By this computer's clock:
    /// the service's `receivedAt` alone would let it (or its clock) stretch an invite as long
    /// as it liked.
    static let lateArrivalWindow: TimeInterval = 2 * 86_400
    /// How far before an invite's creation time this computer's clock may read and the invite
    /// still count: an invite made while the clock was two days ahead is not valid until then,
    /// so it never lives longer than its lifetime (a not-valid-before).
    static let allowedClockSkew: TimeInterval = 300

    /// Why a first message to something made at `created` and valid until `expires` is not in
    /// time, or nil: it reached the service before the expiry, is processed within the late
    /// window by our clock, and our clock is not before the creation.
    static func timeProblem(arrived: Date, now: Date, created: Date, expires: Date, expired: String, thing: String = "invite") -> String? {
        if arrived >= expires || now >= expires.addingTimeInterval(lateArrivalWindow) { return expired }
        if now < created.addingTimeInterval(-allowedClockSkew) {
            return "it arrived before the \(thing) was made by this computer's clock (the clock was ahead when it was made, or is behind now); it is valid from \(InviteError.format(created))"
        }
        return nil
    }

    private struct Refusal: Error {
        let reason: String
    }

    static func record(
        _ message: ServiceAPI.StoredMessage, inviteID: InviteID, at address: AddressID, store: ProfileStore, position: ReceivePosition,
        now: Date, random: some RandomSource
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
            return try store.transaction(advancing: position) { tx throws -> ReceiveAgent.Outcome in
                guard let pending = try tx.pendingInvite(at: address), pending.id == inviteID else {
                    throw Refusal(reason: InviteError.unknownInvite.description)
                }
                if let used = pending.used { throw Refusal(reason: InviteError.alreadyUsed(used).description) }
                if let problem = timeProblem(
                    arrived: arrived, now: now, created: pending.created, expires: pending.expires,
                    expired: InviteError.expired(pending.expires).description)
                {
                    throw Refusal(reason: problem)
                }
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
