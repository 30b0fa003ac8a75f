import ArgumentParser
import Foundation
import ProtonClient

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
        let opened = try profile.open()
        defer { opened.close() }
        let text = try input.read(prompt: reply ? "Paste the reply text and press Enter:" : "Paste the invite text and press Enter:")
        if reply {
            try await completeFromReply(text, in: opened)
        } else {
            try await accept(try Profile.parseInvite(text), in: opened)
        }
    }

    // MARK: - Accepting an invite

    private func accept(_ invite: Invite, in opened: Profile) async throws {
        try await opened.checkAcceptable(invite)
        let stored = try await opened.persona(matching: persona)
        let body = Array((message ?? "").utf8)

        if offline {
            let offlineReply = try await opened.acceptOffline(invite, as: stored, message: body)
            let check = await opened.checkPresentedAttestation(invite.attestation, by: invite.identityKey)
            try printReply(proton: offlineReply.proton, initial: offlineReply.reply, code: offlineReply.code, check: check)
            try check.throwIfForked()
            return
        }

        let started: Profile.Started
        do { started = try await opened.accept(invite, as: stored, message: body) } catch {
            guard error == .agent(.noReceivingService) else { throw error }
            throw CommandFailure(
                status: .unavailable,
                message: "No receiving service is configured, so the inviter would have no address of yours; add one with 'proton services add receiving URL', or use --offline.")
        }
        let proton = started.proton
        let check = await opened.checkPresentedAttestation(invite.attestation, by: invite.identityKey)

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
        try check.throwIfForked()
        if let failure = started.undeliveredFailure() { throw failure }
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

    private func completeFromReply(_ text: String, in opened: Profile) async throws {
        let accepted = try await opened.acceptReply(try Profile.parseReply(text))
        let (proton, body) = (accepted.proton, accepted.body)
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
