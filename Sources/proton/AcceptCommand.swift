import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonQR
import ProtonStore

struct AcceptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept",
        abstract: "Accept someone's invite, or read the reply to one of yours (--reply).",
        discussion: """
            Reads the invite from TEXT, from standard input (paste it), from an image with \
            --image FILE (zbarimg) or from the camera with --camera (zbarcam); zbar-tools is \
            needed only for the last two. The invite's signature and expiry are checked before \
            anything is stored: a damaged or forged invite exits with status 65, an expired one \
            or one you accepted before with status 76.

            By default your first message goes to the invite's address through your sending \
            service, carrying your name and a fresh address of yours; the inviter's 'proton \
            receive' completes the relationship. With --offline nothing goes over the network: \
            a reply QR code is printed instead (it uses an address registered earlier, see \
            'proton receive'), and the inviter reads it with 'proton accept --reply', which \
            needs no network either. Compare the safety numbers both sides print.

            An invite may carry the directory's attestation of the inviter's name ('proton \
            invite --attestation'). It is checked against the directories pinned here ('proton \
            directory add') and the invite's identity key; when it verifies, the contact shows \
            as verified in 'proton contacts' and 'proton verify' works offline. When it does \
            not, the invite is still accepted, the contact stays unverified, and one line says \
            why.
            """)

    @OptionGroup var profile: ProfileOptions

    @OptionGroup var input: QRInputOptions

    @Option(help: ArgumentHelp("Accept as this persona, by name or id prefix (default: the first).", valueName: "persona"))
    var persona: String?

    @Option(help: ArgumentHelp("A first message to send with the acceptance.", valueName: "text"))
    var message: String?

    @Flag(help: "Print a reply QR code for the inviter to scan instead of using the network.")
    var offline = false

    @Flag(help: "Read the reply QR code someone printed with 'proton accept --offline' for one of your invites.")
    var reply = false

    @OptionGroup var presentation: QRPresentationOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// A reply carries a whole first ratchet message, so it may need a larger code than an invite.
    static let maximumReplyVersion = 40

    struct Report: Encodable {
        let mode: String
        let relationshipID: String
        let contact: String?
        let safetyNumber: String
        let delivered: Bool?
        let reply: String?
        let replyBytes: Int?
        let replyQRVersion: Int?
        /// Whether the invite's attestation of the inviter's name verified (absent for --reply).
        let peerAttestation: PresentedAttestationCheck?
    }

    func validate() throws {
        if offline && reply { throw ValidationError("--offline prints a reply and --reply reads one; choose one.") }
        if reply && message != nil { throw ValidationError("--message goes with accepting an invite, not with --reply.") }
        if let message, message.utf8.count > 1_024 { throw ValidationError("--message is limited to 1024 bytes here; send longer ones with 'proton send'.") }
    }

    func run() async throws {
        let context = try AgentContext(profile: profile)
        defer { context.close() }
        let text = try input.read(prompt: reply ? "Paste the reply text and press Enter:" : "Paste the invite text and press Enter:")
        if reply {
            try completeFromReply(text, store: context.store)
        } else {
            try await accept(try Self.parseInvite(text), context: context)
        }
    }

    // MARK: - Accepting an invite

    static func parseInvite(_ text: String) throws -> Invite {
        do {
            return try Invite(qrText: text)
        } catch {
            if (try? InitialMessage(decoding: Base45.decode(text, limit: InitialMessage.maximumByteCount))) != nil {
                throw CommandFailure(status: .usage, message: "This is a reply to an invite, not an invite; read it with 'proton accept --reply'.")
            }
            if case .invalidValue(field: "signature", _) = error {
                throw CommandFailure(
                    status: .dataError, message: "The invite's signature does not verify: it was altered or forged, so nothing was stored.")
            }
            throw CommandFailure(status: .dataError, message: "This is not a valid invite: \(error).")
        }
    }

    private func accept(_ invite: Invite, context: AgentContext) async throws {
        let store = context.store
        let now = Date()
        guard !invite.isExpired(now: now) else { throw CommandFailure(invite: InviteError.expired(invite.expires)) }
        if try store.personas().contains(where: { $0.identityKey == invite.identityKey }) {
            throw CommandFailure(invite: InviteError.ownInvite)
        }
        if let accepted = try store.acceptedInvite(prekey: invite.prekey) {
            throw CommandFailure(invite: InviteError.alreadyAccepted(accepted))
        }
        let stored = try PersonaChoice.choose(persona, in: store)
        let personaKeys = try store.persona(stored.id)
        let body = Array((message ?? "").utf8)

        if offline {
            let (proton, initial, code) = try store.transaction { tx in
                guard let route = try tx.takeSpareAddress(now: now) else { throw CommandFailure(invite: InviteError.noSpareAddress) }
                let (proton, initial) = try Self.initiate(personaKeys, invite, route, body, now)
                let code = try QRPresentationOptions.encode(
                    Base45.encode(initial.encoded()), maximumVersion: Self.maximumReplyVersion, what: "reply")
                let id: ProtonID
                do { id = try tx.insertProton(proton, personaID: stored.id, now: now) } catch { throw CommandFailure(invite: error) }
                try tx.appendMessage(protonID: id, direction: .outgoing, body: body, address: invite.route.address.hex, timestamp: now)
                try tx.recordAcceptedInvite(invite, protonID: id, now: now)
                return (proton, initial, code)
            }
            let check = PresentedAttestationCheck.checkAndStore(invite.attestation, by: invite.identityKey, profile: store.directory)
            try printReply(proton: proton, initial: initial, code: code, check: check)
            return
        }

        guard !context.services.receiving.isEmpty else {
            throw CommandFailure(
                status: .unavailable,
                message: "No receiving service is configured, so the inviter would have no address of yours; add one with 'proton services add receiving URL', or use --offline.")
        }
        let started = try await CommandFailure.mapping {
            try await InitiatorStart(context: context).run(
                personaID: stored.id, body: body, now: now,
                initiate: { route in try Self.initiate(personaKeys, invite, route, body, now) },
                record: { tx, id in try tx.recordAcceptedInvite(invite, protonID: id, now: now) },
                failure: { CommandFailure(invite: $0) })
        }
        let proton = started.proton
        let check = PresentedAttestationCheck.checkAndStore(invite.attestation, by: invite.identityKey, profile: store.directory)

        if json {
            try Output.json(
                Report(
                    mode: "one-way", relationshipID: proton.relationshipID, contact: nil, safetyNumber: proton.safetyNumber.description,
                    delivered: started.delivered, reply: nil, replyBytes: nil, replyQRVersion: nil, peerAttestation: check))
        } else {
            print("Invite accepted as \(stored.displayName): relationship \(proton.relationshipID).")
            print("Safety number (compare it with the inviter's): \(proton.safetyNumber)")
            if check.presented { print(check.sentence) }
            if started.delivered { print("Your first message is on its way; the inviter's 'proton receive' completes the relationship.") }
        }
        if let failure = started.undeliveredFailure() { throw failure }
    }

    private static func initiate(
        _ persona: Persona, _ invite: Invite, _ route: OwnRoute, _ body: [UInt8], _ now: Date
    ) throws -> (Proton, InitialMessage) {
        do {
            let started = try Proton.initiate(persona: persona, invite: invite, ourRoutes: [route], body: body, now: now, random: SystemRandom())
            return (started.proton, started.initialMessage)
        } catch {
            throw CommandFailure(invite: error)
        }
    }

    private func printReply(proton: Proton, initial: InitialMessage, code: QRCode, check: PresentedAttestationCheck) throws {
        try presentation.writeImage(code)
        let text = Base45.encode(initial.encoded())
        if json {
            try Output.json(
                Report(
                    mode: "offline", relationshipID: proton.relationshipID, contact: nil, safetyNumber: proton.safetyNumber.description,
                    delivered: nil, reply: text, replyBytes: initial.encoded().count, replyQRVersion: code.version, peerAttestation: check))
            return
        }
        guard presentation.drawsCode else {
            if check.presented { FileHandle.standardError.write(Data((TerminalText.neutralised(check.sentence) + "\n").utf8)) }
            print(text)
            return
        }
        print(presentation.render(code), terminator: "")
        if check.presented { print(check.sentence) }
        print("Reply for the inviter to scan with 'proton accept --reply --camera' (or to paste into 'proton accept --reply'): "
            + "\(initial.encoded().count) bytes, a version \(code.version)-M QR code.")
        if let png = presentation.png { print("Image written to \(png).") }
        print(text)
        print("Safety number (compare it with the inviter's): \(proton.safetyNumber)")
    }

    // MARK: - Reading a reply

    private func completeFromReply(_ text: String, store: ProfileStore) throws {
        let initial: InitialMessage
        do {
            initial = try InitialMessage(decoding: Base45.decode(text, limit: InitialMessage.maximumByteCount))
        } catch {
            if (try? Invite(qrText: text)) != nil {
                throw CommandFailure(status: .usage, message: "This is an invite, not a reply; accept it with 'proton accept' without --reply.")
            }
            throw CommandFailure(status: .dataError, message: "This is not a valid reply: \(error).")
        }
        let now = Date()
        let (proton, body) = try store.transaction { tx -> (Proton, [UInt8]) in
            guard let pending = try tx.pendingInvite(prekey: initial.signedPrekey) else { throw CommandFailure(invite: InviteError.unknownInvite) }
            if let used = pending.used { throw CommandFailure(invite: InviteError.alreadyUsed(used)) }
            guard now < pending.expires else { throw CommandFailure(invite: InviteError.expired(pending.expires)) }
            guard let inviteRoute = pending.route, initial.oneTimePrekey == nil else {
                throw CommandFailure(status: .dataError, message: "This reply does not match the invite it names.")
            }
            let started: ResponderStart.Started
            do {
                started = try ResponderStart.record(
                    in: tx, personaID: pending.personaID, initial: initial, signedPrekey: try tx.invitePrekey(pending.id), oneTimePrekey: nil,
                    context: .invite, firstContactRoute: inviteRoute, now: now, random: SystemRandom())
            } catch let refusal as ResponderStart.Refusal {
                switch refusal.kind {
                case .undecryptable:
                    throw CommandFailure(
                        status: .dataError, message: "The reply does not decrypt with your invite's keys: it was altered or forged; nothing was stored.")
                case .ownPersona: throw CommandFailure(invite: InviteError.ownInvite)
                case .existingRelationship: throw CommandFailure(status: .dataError, message: "This reply cannot start a relationship: \(refusal.reason).")
                }
            }
            try tx.consumeInvite(pending.id, protonID: started.protonID, now: now)
            return (started.proton, started.body)
        }
        let name = proton.peerDisplayName ?? "(no name)"
        if json {
            try Output.json(
                Report(
                    mode: "reply", relationshipID: proton.relationshipID, contact: name, safetyNumber: proton.safetyNumber.description,
                    delivered: nil, reply: nil, replyBytes: nil, replyQRVersion: nil, peerAttestation: nil))
        } else {
            print("\(name) accepted your invite: relationship \(proton.relationshipID).")
            if !body.isEmpty { print("\(name): \(TerminalText.body(String(decoding: body, as: UTF8.self)))") }
            print("Safety number (compare it with theirs): \(proton.safetyNumber)")
        }
    }
}
