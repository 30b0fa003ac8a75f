import ArgumentParser
import Foundation
import ProtonClient
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonQR
import ProtonStore

struct InviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Print a single-use invite as a QR code for someone to accept.",
        discussion: """
            Creates a fresh address at one of your receiving services and a one-time prekey, \
            signs them with the persona's identity key and an expiry, stores the prekey's \
            private key in the profile, and prints the invite as a QR code (version 10 or \
            smaller, error correction M) with its text underneath, to scan or paste into \
            'proton accept'. When standard output is not a terminal only the text is printed. \
            The first person to accept it starts a relationship with you: 'proton receive' \
            completes it when their first message arrives, or 'proton accept --reply' when they \
            answer with a reply QR code instead (no network). A second use is refused.

            With --offline no network is used: the address is one registered earlier ('proton \
            receive' keeps a few spare). Exits with status 69 when no receiving service is \
            configured or reachable.

            With --attestation NAME@NS the invite also carries the directory's attestation of \
            the persona's name (from 'proton directory register'), so that 'proton accept' can \
            show the contact as verified. It makes the invite two to three times larger: up to \
            a version \(InviteCommand.maximumAttestedVersion) QR code instead of \(InviteCommand.maximumVersion).
            """)

    @OptionGroup var profile: ProfileOptions

    @Option(help: ArgumentHelp("Invite as this persona, by name or id prefix (default: the first).", valueName: "persona"))
    var persona: String?

    @Option(help: ArgumentHelp("How long the invite stays valid: 30s, 10m, 2h or 1d (at most 7 days).", valueName: "duration"))
    var expires: String = "10m"

    @Flag(help: "Use an address registered earlier instead of creating one: no network at all.")
    var offline = false

    @Option(help: ArgumentHelp("Carry the directory's attestation of this name of the persona.", valueName: "name@namespace"))
    var attestation: String?

    @OptionGroup var presentation: QRPresentationOptions

    @Flag(help: "Print JSON instead of the QR code.")
    var json = false

    /// An invite must stay scannable from a laptop screen by a phone or webcam.
    static let maximumVersion = Profile.maximumInviteVersion
    /// An attestation adds about 330 bytes plus 32 per inclusion-proof hash (one per doubling
    /// of the directory's log): version 18 for a new log, 29 for a log of a million names, 30
    /// up to 16 million (docs/qr.md).
    static let maximumAttestedVersion = Profile.maximumAttestedInviteVersion
    static let maximumLifetime: TimeInterval = 7 * 86_400

    struct Report: Encodable {
        let invite: String
        let bytes: Int
        let characters: Int
        let qrVersion: Int
        let errorCorrection: String
        let modules: Int
        let persona: String
        let expires: Date
        let receivingService: String
        /// The attested name the invite carries, if any.
        let attestation: String?
        let png: String?
    }

    func validate() throws {
        guard let lifetime = Self.duration(expires), lifetime > 0, lifetime <= Self.maximumLifetime else {
            throw ValidationError("--expires must be a duration such as 30s, 10m, 2h or 1d, and at most 7d.")
        }
    }

    /// The attestation --attestation names, checked before an address is created for the invite.
    private func attestationToPresent(persona stored: StoredPersona, in opened: Profile) async throws -> AttestationBundle? {
        guard let attestation else { return nil }
        let bundle = try await opened.attestationToPresent(for: stored, choice: attestation)
        if let bundle, bundle.encoded().count > Invite.maximumAttestationByteCount {
            throw CommandFailure(
                status: .dataError,
                message: "The attestation of \(bundle.attestation.qualifiedName) is \(bundle.encoded().count) bytes, more than the \(Invite.maximumAttestationByteCount) an invite carries.")
        }
        return bundle
    }

    /// "90s", "10m", "2h", "1d" in seconds.
    static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Int(text.dropLast()), value > 0 else { return nil }
        switch unit {
        case "s": return TimeInterval(value)
        case "m": return TimeInterval(value) * 60
        case "h": return TimeInterval(value) * 3_600
        case "d": return TimeInterval(value) * 86_400
        default: return nil
        }
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let stored = try await opened.persona(matching: persona)
        guard try await !opened.storedServices().receiving.isEmpty else {
            throw CommandFailure(
                status: .unavailable,
                message: "No receiving service is configured, and an invite must carry an address at one; add one with 'proton services add receiving URL'.")
        }
        let now = Date()
        let presented = try await attestationToPresent(persona: stored, in: opened)
        let issued = try await opened.invite(
            as: stored, expires: now.addingTimeInterval(Self.duration(expires)!), offline: offline, attestation: presented?.encoded(),
            maximumVersion: presented == nil ? Self.maximumVersion : Self.maximumAttestedVersion)
        let (invite, code) = (issued.invite, issued.code)
        try presentation.writeImage(code)
        let text = invite.qrText

        if json {
            try Output.json(
                Report(
                    invite: text, bytes: invite.encoded().count, characters: text.count, qrVersion: code.version,
                    errorCorrection: "M", modules: code.size, persona: stored.displayName, expires: invite.expires,
                    receivingService: invite.route.serviceURI, attestation: presented?.attestation.qualifiedName, png: presentation.png))
            return
        }
        guard presentation.drawsCode else {
            print(text)
            return
        }
        print(presentation.render(code), terminator: "")
        print(
            "Invite from \(stored.displayName), valid until \(Output.date(invite.expires)) (in \(Output.duration(Self.duration(expires)!))); "
                + "single use. \(invite.encoded().count) bytes, a version \(code.version)-M QR code.")
        if let presented { print("It carries the directory's attestation of \(presented.attestation.qualifiedName).") }
        if let png = presentation.png { print("Image written to \(png).") }
        print("Scan it with 'proton accept --camera', or paste this text into 'proton accept':")
        print(text)
    }
}
