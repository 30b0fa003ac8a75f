import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonStore

/// `proton requests list|approve|deny`: the contact requests a brokered directory holds for a
/// name of yours whose contact rule is `approval`.
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "List, approve or deny contact requests for your names at brokered directories.",
        discussion: """
            Under the 'approval' contact rule a brokered directory vends your key package only \
            to requesters you approved. Every call is signed by the identity key the name is \
            attested to. --name is needed only when you registered several names from this profile.
            """,
        subcommands: [RequestsListCommand.self, RequestsApproveCommand.self, RequestsDenyCommand.self])
}

struct RequestsOptions: ParsableArguments {
    @OptionGroup var profile: ProfileOptions

    @Option(help: ArgumentHelp("Your name, NAME@NAMESPACE (default: the one registered from this profile).", valueName: "name"))
    var name: String?

    /// The client, the bare name, and the key it is attested to.
    func owner(_ store: ProfileStore) throws -> (DirectoryClient, String, Ed25519.PrivateKey) {
        let owned = try OwnedName.resolve(name, in: store)
        return (owned.client, owned.name, owned.key)
    }
}

/// A name registered from this profile ('proton directory register'), with what signs for it.
struct OwnedName {
    let client: DirectoryClient
    let name: String
    let namespace: String
    let personaID: PersonaID
    let key: Ed25519.PrivateKey

    var qualifiedName: String { name + "@" + namespace }

    /// `text` (NAME@NAMESPACE) or, when nil, the one name registered from this profile.
    static func resolve(_ text: String?, in store: ProfileStore) throws -> OwnedName {
        let state = try DirectoryState.load(from: store.directory)
        let registered = state.registered ?? []
        let chosen: DirectoryState.Registered
        if let text {
            guard let match = registered.first(where: { $0.qualifiedName == text }) else {
                throw CommandFailure(status: .usage, message: "\(text) was not registered from this profile ('proton directory register').")
            }
            chosen = match
        } else {
            guard registered.count == 1 else {
                throw CommandFailure(
                    status: .usage,
                    message: registered.isEmpty
                        ? "No name was registered from this profile; register one with 'proton directory register NAME'."
                        : "Several names were registered from this profile; choose one with --name NAME@NAMESPACE.")
            }
            chosen = registered[0]
        }
        let pinned = try state.requireDirectory(namespace: chosen.namespace)
        guard let persona = try store.personas().first(where: { Base64URL.encode($0.identityKey.rawRepresentation) == chosen.identityKey }) else {
            throw CommandFailure(status: .dataError, message: "The persona that registered \(chosen.qualifiedName) is no longer in this profile.")
        }
        return OwnedName(
            client: DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)")), name: chosen.name, namespace: chosen.namespace,
            personaID: persona.id, key: try store.persona(persona.id).identityKey)
    }
}

struct RequestsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List contact requests.")

    @OptionGroup var options: RequestsOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let store = try options.profile.openStore()
        defer { try? store.close() }
        let (client, name, owner) = try options.owner(store)
        let requests = try await CommandFailure.directory { try await client.contactRequests(name: name, key: owner) }
        if json { return try Output.json(requests) }
        guard !requests.isEmpty else { return print("No contact requests for \(name).") }
        Output.table(
            ["REQUEST", "REQUESTER KEY", "STATE", "SINCE"],
            requests.map { [$0.id, $0.requesterKey, $0.state, Output.date(Date(timeIntervalSince1970: TimeInterval($0.created)))] })
    }
}

struct RequestsApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Let a requester fetch your key package.")

    @OptionGroup var options: RequestsOptions

    @Argument(help: "The request id, as 'proton requests list' shows it.")
    var request: String

    func run() async throws {
        let store = try options.profile.openStore()
        defer { try? store.close() }
        let (client, name, owner) = try options.owner(store)
        try await CommandFailure.directory { try await client.decide(name: name, requestID: request, approve: true, key: owner) }
        print("Approved request \(request) for \(name).")
    }
}

struct RequestsDenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Refuse a requester for good.")

    @OptionGroup var options: RequestsOptions

    @Argument(help: "The request id, as 'proton requests list' shows it.")
    var request: String

    func run() async throws {
        let store = try options.profile.openStore()
        defer { try? store.close() }
        let (client, name, owner) = try options.owner(store)
        try await CommandFailure.directory { try await client.decide(name: name, requestID: request, approve: false, key: owner) }
        print("Denied request \(request) for \(name).")
    }
}
