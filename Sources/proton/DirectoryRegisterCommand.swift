import ArgumentParser
import Foundation
import ProtonClient

/// `proton directory register NAME`.
struct DirectoryRegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Ask a pinned directory to attest a name for one of your personas.",
        discussion: """
            The request is signed by the persona's identity key (proof of possession) and names \
            the namespace and the name. Under an 'open' directory the name is attested at once; \
            under 'approve' it waits for the operator; under 'allowlist' only listed names are \
            attested. A name held by another key is refused (status 65).
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("NAME, or NAME@NAMESPACE when several directories are pinned.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Register this persona, by name or id prefix (default: the first).", valueName: "persona"))
    var persona: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let stored = try await opened.persona(matching: persona)
        switch try await opened.registerName(name, as: stored) {
        case .pending(let status, let qualified):
            if json { return try Output.json(status) }
            let bare = qualified.split(separator: "@").first.map(String.init) ?? qualified
            print("Asked for \(qualified); the directory's operator must approve it ('proton directory approve \(bare)').")
        case .attested(let status, let result, let qualified):
            if json { return try Output.json(status) }
            print(
                "\(qualified) is attested for \(stored.displayName) (log index \(result.bundle.attestation.logIndex), "
                    + "expires \(Output.date(result.bundle.attestation.expires)); inclusion verified in a log of \(Output.entries(result.checkpoint.size))).")
        }
    }
}
