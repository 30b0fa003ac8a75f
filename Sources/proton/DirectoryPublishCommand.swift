import ArgumentParser
import Foundation
import ProtonClient
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonStore

/// `proton directory publish`: a key package for one of our attested names at a brokered
/// directory, so that others can start a relationship with `proton connect NAME@NS`.
struct DirectoryPublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a key package for your name at a brokered directory.",
        discussion: """
            Makes a signed prekey, --prekeys one-time prekeys and a first-contact address at \
            your receiving service, signs them with the identity key the name is attested to, \
            stores the private keys in the profile, and publishes the package under a contact \
            rule: 'open' (anyone, rate-limited per requester), 'attested' (the requester must \
            present an attestation of its key from this directory or from one given with \
            --trust) or 'approval' (you approve each requester with 'proton requests approve'). \
            The directory hands each one-time prekey out once; when they run out it hands out \
            the signed prekey alone. Publishing again replaces the package at the directory; the \
            earlier one keeps working for whoever fetched it until it expires. Relationships \
            started from it are completed by 'proton receive'.
            """)

    @OptionGroup var profile: ProfileOptions

    @Option(help: ArgumentHelp("Your name, NAME@NAMESPACE (default: the one registered from this profile).", valueName: "name"))
    var name: String?

    @Option(help: "One-time prekeys in the package (0 to \(KeyPackage.maximumOneTimePrekeys)).")
    var prekeys: Int = 20

    @Option(help: "Who may fetch it: open, attested or approval.")
    var rule: BrokerAPI.ContactRule = .open

    @Option(help: ArgumentHelp("For --rule attested: a directory's verifier key whose attestations count (repeatable; default: this directory's).", valueName: "key"))
    var trust: [String] = []

    @Option(help: "How long the package is valid, e.g. 7d or 12h (at most 90d).")
    var expires: String = "30d"

    @Flag(help: "Print JSON.")
    var json = false

    static let maximumLifetime: TimeInterval = 90 * 86_400

    struct Report: Encodable {
        let name: String
        let oneTimePrekeys: Int
        let rule: String
        let expires: Date
        let address: String
    }

    func validate() throws {
        guard (0...KeyPackage.maximumOneTimePrekeys).contains(prekeys) else {
            throw ValidationError("--prekeys must be between 0 and \(KeyPackage.maximumOneTimePrekeys).")
        }
        guard let lifetime = InviteCommand.duration(expires), lifetime > 0, lifetime <= Self.maximumLifetime else {
            throw ValidationError("--expires must be a duration such as 12h or 7d, and at most 90d.")
        }
        if !trust.isEmpty && rule != .attested { throw ValidationError("--trust goes with --rule attested.") }
        for key in trust where (try? NoteVerifier(verifierKey: key)) == nil {
            throw ValidationError("--trust \(key) is not a directory verifier key (NAME+ID+KEY).")
        }
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let owned = try await opened.ownedName(name)
        guard try await !opened.storedServices().receiving.isEmpty else {
            throw CommandFailure(
                status: .unavailable,
                message: "No receiving service is configured, and a key package must carry an address at one; add one with 'proton services add receiving URL'.")
        }
        let result = try await opened.publishKeyPackage(
            name: owned.qualifiedName, prekeys: prekeys, expires: Date().addingTimeInterval(InviteCommand.duration(expires)!), rule: rule,
            trustedDirectories: trust)
        let report = Report(
            name: result.name, oneTimePrekeys: result.published.oneTimePrekeys, rule: result.published.rule.rawValue,
            expires: result.package.expires, address: result.address.hex)
        if json { return try Output.json(report) }
        print(
            "Published a key package for \(report.name): \(report.oneTimePrekeys) one-time prekeys, contact rule \(report.rule), "
                + "valid until \(Output.date(report.expires)).")
        print("Others connect with 'proton connect \(report.name)'; your 'proton receive' completes each relationship.")
    }
}

extension BrokerAPI.ContactRule: ExpressibleByArgument {}
