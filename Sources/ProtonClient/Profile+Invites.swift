import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonQR
import ProtonStore

extension Profile {
    /// An invite made and stored, with its QR code.
    public struct IssuedInvite: Sendable {
        public let invite: Invite
        public let code: QRCode
        public let persona: StoredPersona
    }

    /// A relationship we started (an invite accepted, a name connected to): stored, with its
    /// first message queued and tried once.
    public typealias Started = InitiatorStart.Started

    /// An invite accepted without the network: the reply for the inviter to scan.
    public struct OfflineReply: Sendable {
        public let proton: Proton
        public let reply: InitialMessage
        public let code: QRCode
    }

    /// A reply to one of our invites, read: the new relationship and the first message.
    public struct AcceptedReply: Sendable {
        public let proton: Proton
        public let protonID: ProtonID
        public let body: [UInt8]
    }

    /// The most an invite's QR code may need: scannable from a laptop screen.
    public static let maximumInviteVersion = 10
    /// An attestation adds about 330 bytes plus 32 per inclusion-proof hash (docs/qr.md).
    public static let maximumAttestedInviteVersion = 30
    /// A reply carries a whole first ratchet message, so it may need a larger code.
    public static let maximumReplyVersion = 40
    /// The longest an invite stays valid (its address is polled until then).
    public static let maximumInviteLifetime: TimeInterval = 7 * 86_400

    // MARK: - Inviting

    /// Makes a single-use invite for `persona` valid until `expires`, at a fresh address at one
    /// of our receiving services (with `offline`, one registered earlier: no network at all),
    /// carrying `attestation` when given. The invite, its prekey and its address are stored
    /// only when its QR code fits `maximumVersion`.
    public func invite(
        as persona: StoredPersona, expires: Date, offline: Bool, attestation: [UInt8]? = nil, maximumVersion: Int = maximumInviteVersion
    ) async throws(ProfileError) -> IssuedInvite {
        try checkOpen()
        let now = Date()
        guard expires > now, expires.timeIntervalSince(now) <= Self.maximumInviteLifetime + 60 else {
            throw .invalidExpiry(maximumSeconds: Int(Self.maximumInviteLifetime))
        }
        guard !services.receiving.isEmpty else { throw .agent(.noReceivingService) }
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        let prekey = X25519.PrivateKey()
        let issuer = try issuer()
        if offline {
            // Take the spare, sign, check the QR size and store in one transaction: a refusal keeps the spare.
            let (invite, code) = try ProfileError.classifying {
                try store.transaction { tx in
                    guard let route = try tx.takeSpareAddress(now: now) else { throw InviteError.noSpareAddress }
                    let invite = Invite(
                        identity: keys.identityKey, prekey: prekey.publicKey, route: route.route, expires: expires, attestation: attestation)
                    let code = try Self.code(invite.qrText, bytes: invite.encoded().count, maximumVersion: maximumVersion, serviceURI: route.route.serviceURI)
                    try tx.insertPendingInvite(personaID: persona.id, invite: invite, prekey: prekey, route: route, now: now)
                    return (invite, code)
                }
            }
            return IssuedInvite(invite: invite, code: code, persona: persona)
        }
        let route = try await ProfileError.classifying { try await issuer.createRoute(after: nil, now: now) }
        let invite = Invite(identity: keys.identityKey, prekey: prekey.publicKey, route: route.route, expires: expires, attestation: attestation)
        let code: QRCode
        do throws(ProfileError) {
            code = try Self.code(invite.qrText, bytes: invite.encoded().count, maximumVersion: maximumVersion, serviceURI: route.route.serviceURI)
        } catch {
            // The address is registered and unused: keep it for a relationship rather than leak it.
            try? store.addSpareAddress(route, now: now)
            throw error
        }
        do { try store.addPendingInvite(personaID: persona.id, invite: invite, prekey: prekey, route: route, now: now) } catch {
            try? store.addSpareAddress(route, now: now)
            throw ProfileError(error)
        }
        await SpareAddresses.replenish(store: store, issuer: issuer, now: now)
        return IssuedInvite(invite: invite, code: code, persona: persona)
    }

    private static func code(_ text: String, bytes: Int, maximumVersion: Int, serviceURI: String?) throws(ProfileError) -> QRCode {
        do { return try QRCode.encode(alphanumeric: text, maximumVersion: maximumVersion) } catch {
            guard case .tooLarge = error else { throw .unexpected("the QR encoder failed: \(error)") }
            throw .tooLargeForQRCode(bytes: bytes, maximumVersion: maximumVersion, serviceURI: serviceURI)
        }
    }

    // MARK: - Accepting

    /// Parses an invite's text (QR or pasted); tells a reply to an invite and a forged
    /// signature apart from other damage.
    public static func parseInvite(_ text: String) throws(ProfileError) -> Invite {
        do { return try Invite(qrText: text) } catch {
            if (try? InitialMessage(decoding: Base45.decode(text, limit: InitialMessage.maximumByteCount))) != nil {
                throw .notAnInvite(reason: "it is a reply", isReply: true)
            }
            if case .invalidValue(field: "signature", _) = error { throw .forgedInvite }
            throw .notAnInvite(reason: "\(error)", isReply: false)
        }
    }

    /// Parses the text of a reply to one of our invites.
    public static func parseReply(_ text: String) throws(ProfileError) -> InitialMessage {
        do { return try InitialMessage(decoding: Base45.decode(text, limit: InitialMessage.maximumByteCount)) } catch {
            if (try? Invite(qrText: text)) != nil { throw .notAReply(reason: "it is an invite", isInvite: true) }
            throw .notAReply(reason: "\(error)", isInvite: false)
        }
    }

    /// What every acceptance checks before anything is stored (expiry, our own invite, one
    /// accepted before); `accept` and `acceptOffline` check it again.
    public func checkAcceptable(_ invite: Invite, now: Date = Date()) throws(ProfileError) {
        try checkOpen()
        guard !invite.isExpired(now: now) else { throw .invite(.expired(invite.expires)) }
        try ProfileError.classifying {
            if try store.personas().contains(where: { $0.identityKey == invite.identityKey }) { throw InviteError.ownInvite }
            if let accepted = try store.acceptedInvite(prekey: invite.prekey) { throw InviteError.alreadyAccepted(accepted) }
        }
    }

    /// Accepts `invite` as `persona`: our first message (carrying our name and a fresh address
    /// of ours) goes to the invite's address through our sending services; the inviter's
    /// receive completes the relationship. The relationship is stored even when the message
    /// is not delivered yet (`Started.notDelivered`; the next flush retries it).
    public func accept(_ invite: Invite, as persona: StoredPersona, message: [UInt8] = []) async throws(ProfileError) -> Started {
        let now = Date()
        try checkAcceptable(invite, now: now)
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        guard !services.receiving.isEmpty else { throw .agent(.noReceivingService) }
        let start = InitiatorStart(store: store, sender: try sendAgent(), issuer: try issuer())
        return try await usingOutbox { () throws(ProfileError) in
            try await ProfileError.classifying {
                try await start.run(
                    personaID: persona.id, body: message, now: now,
                    initiate: { route in
                        let started = try Proton.initiate(persona: keys, invite: invite, ourRoutes: [route], body: message, now: now, random: SystemRandom())
                        return (started.proton, started.initialMessage)
                    },
                    record: { tx, id in try tx.recordAcceptedInvite(invite, protonID: id, now: now) })
            }
        }
    }

    /// Accepts `invite` without the network: the first message becomes a reply QR code for the
    /// inviter to scan (`acceptReply` on their side), using an address registered earlier.
    public func acceptOffline(_ invite: Invite, as persona: StoredPersona, message: [UInt8] = []) throws(ProfileError) -> OfflineReply {
        let now = Date()
        try checkAcceptable(invite, now: now)
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        return try ProfileError.classifying {
            try store.transaction { tx in
                guard let route = try tx.takeSpareAddress(now: now) else { throw InviteError.noSpareAddress }
                // No KEM key in the reply: it would not fit the QR code. The inviter's first
                // message offers one instead.
                let started = try Proton.initiate(
                    persona: keys, invite: invite, ourRoutes: [route], body: message, offersFirstKEMKey: false, now: now, random: SystemRandom())
                let encoded = started.initialMessage.encoded()
                let code = try Self.code(Base45.encode(encoded), bytes: encoded.count, maximumVersion: Self.maximumReplyVersion, serviceURI: nil)
                let id = try tx.insertProton(started.proton, personaID: persona.id, now: now)
                try tx.appendMessage(protonID: id, direction: .outgoing, body: message, address: invite.route.address.hex, timestamp: now)
                try tx.recordAcceptedInvite(invite, protonID: id, now: now)
                return OfflineReply(proton: started.proton, reply: started.initialMessage, code: code)
            }
        }
    }

    /// Reads the reply someone made with `acceptOffline` to one of our invites: the
    /// relationship is stored with its first message, and the invite is used up. No network.
    public func acceptReply(_ reply: InitialMessage) throws(ProfileError) -> AcceptedReply {
        let now = Date()
        return try ProfileError.classifying {
            try store.transaction { tx in
                guard let pending = try tx.pendingInvite(prekey: reply.signedPrekey) else { throw InviteError.unknownInvite }
                if let used = pending.used { throw InviteError.alreadyUsed(used) }
                guard now < pending.expires else { throw InviteError.expired(pending.expires) }
                guard let inviteRoute = pending.route, reply.oneTimePrekey == nil else {
                    throw ProfileError.mismatchedReply(reason: "it does not match the invite it names")
                }
                let started: ResponderStart.Started
                do {
                    started = try ResponderStart.record(
                        in: tx, personaID: pending.personaID, initial: reply, signedPrekey: try tx.invitePrekey(pending.id), oneTimePrekey: nil,
                        context: .invite, firstContactRoute: inviteRoute, now: now, random: SystemRandom())
                } catch let refusal as ResponderStart.Refusal {
                    switch refusal.kind {
                    case .undecryptable: throw ProfileError.undecryptableReply
                    case .ownPersona: throw InviteError.ownInvite
                    case .existingRelationship: throw ProfileError.mismatchedReply(reason: refusal.reason)
                    }
                }
                try tx.consumeInvite(pending.id, protonID: started.protonID, now: now)
                return AcceptedReply(proton: started.proton, protonID: started.protonID, body: started.body)
            }
        }
    }
}
