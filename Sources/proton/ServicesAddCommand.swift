import ArgumentParser
import Foundation
import ProtonClient

struct ServicesAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a sending or a receiving service.",
        discussion: """
            A receiving service is asked for its public key (GET /v1/info), which is pinned: \
            every address you create there carries it, and a service that later shows another \
            key is not trusted with your addresses. Exits with status 69 when the service \
            cannot be reached.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: "sending or receiving.")
    var kind: Profile.ServiceKind

    @Argument(help: ArgumentHelp("The service's base URI, e.g. https://relay.example.org.", valueName: "uri"))
    var uri: String

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let added = try await opened.addService(kind, uri: uri)
        print("Added \(kind.rawValue) service \(added).")
    }
}
