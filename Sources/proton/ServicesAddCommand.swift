import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore

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
    var kind: ServiceKind

    @Argument(help: ArgumentHelp("The service's base URI, e.g. https://relay.example.org.", valueName: "uri"))
    var uri: String

    func run() async throws {
        let context = try AgentContext(profile: profile)
        defer { context.close() }
        var services = context.services
        try await CommandFailure.mapping {
            let now = Date()
            switch kind {
            case .sending:
                try services.addSending(uri, now: now)
            case .receiving:
                let normalized = try ServicesConfiguration.normalize(uri)
                let key = try await ReceivingServiceClient(serviceURI: normalized).serviceKey()
                try services.addReceiving(normalized, publicKey: key, now: now)
            }
            try services.save(to: context.store.directory)
        }
        let added = kind == .sending ? services.sending.last!.uri : services.receiving.last!.uri
        print("Added \(kind.rawValue) service \(added).")
    }
}
