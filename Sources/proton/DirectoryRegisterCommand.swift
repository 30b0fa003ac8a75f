import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

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
        let store = try profile.openStore()
        defer { try? store.close() }
        var state = try DirectoryState.load(from: store.directory)
        let (bare, pinned) = try QualifiedName.resolve(name, in: state)
        let stored = try PersonaChoice.choose(persona, in: store)
        let keys = try store.persona(stored.id)
        let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
        let now = Date()
        let (_, status) = try await CommandFailure.directory {
            try await client.register(name: bare, namespace: pinned.namespace, key: keys.identityKey, now: now)
        }
        if status.state == .pending {
            if json { return try Output.json(status) }
            return print("Asked for \(bare)@\(pinned.namespace); the directory's operator must approve it ('proton directory approve \(bare)').")
        }
        let result = try await DirectoryLookup.run(name: bare, pinned: pinned, state: &state, now: now)
        let registration = DirectoryState.Registered(
            name: bare, namespace: pinned.namespace, identityKey: Base64URL.encode(keys.identityKey.publicKey.rawRepresentation))
        if !(state.registered ?? []).contains(registration) { state.registered = (state.registered ?? []) + [registration] }
        try state.save(to: store.directory)
        guard result.bundle.attestation.identityKey == keys.identityKey.publicKey else {
            throw CommandFailure(status: .directoryMisbehaved, message: "The directory attests another key for \(bare)@\(pinned.namespace).")
        }
        if json { return try Output.json(status) }
        print(
            "\(bare)@\(pinned.namespace) is attested for \(stored.displayName) (log index \(result.bundle.attestation.logIndex), "
                + "expires \(Output.date(result.bundle.attestation.expires)); inclusion verified in a log of \(Output.entries(result.checkpoint.size))).")
    }
}
