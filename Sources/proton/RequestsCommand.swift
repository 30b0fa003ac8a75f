import ArgumentParser
import Foundation
import ProtonClient

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
}

struct RequestsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List contact requests.")

    @OptionGroup var options: RequestsOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let opened = try options.profile.open()
        defer { opened.close() }
        let (owned, requests) = try await opened.contactRequests(name: options.name)
        let name = owned.name
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
        let opened = try options.profile.open()
        defer { opened.close() }
        let name = try await opened.decideContactRequest(request, name: options.name, approve: true).name
        print("Approved request \(request) for \(name).")
    }
}

struct RequestsDenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Refuse a requester for good.")

    @OptionGroup var options: RequestsOptions

    @Argument(help: "The request id, as 'proton requests list' shows it.")
    var request: String

    func run() async throws {
        let opened = try options.profile.open()
        defer { opened.close() }
        let name = try await opened.decideContactRequest(request, name: options.name, approve: false).name
        print("Denied request \(request) for \(name).")
    }
}
