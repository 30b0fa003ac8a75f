import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonStore

struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Give a contact a fresh address now instead of waiting for the rotation policy.",
        discussion: """
            A fresh address is created at one of your receiving services and offered to the \
            contact with your next message; the old one keeps working until they acknowledge \
            the new one, and retires after a grace period. Exits with status 69 when no \
            receiving service is configured or none could create the address.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("A contact's name or the start of its relationship id.", valueName: "contact"))
    var contact: String

    func run() async throws {
        let context = try AgentContext(profile: profile)
        defer { context.close() }
        let endpoints = try context.receivingEndpoints()
        guard !endpoints.isEmpty else { throw CommandFailure(agent: AgentError.noReceivingService) }
        let summary = try Contact.resolve(contact, in: context.store.protons())
        let name = summary.peerDisplayName ?? summary.relationshipID
        let now = Date()
        let current = try context.store.proton(summary.id)
        guard !current.isBlocked else { throw CommandFailure(agent: Proton.Error.blocked) }
        let fresh = try await CommandFailure.mapping {
            try await AddressIssuer(services: endpoints).createRoute(after: current.ownRoutes.last?.route.serviceURI, now: now)
        }
        try await CommandFailure.mapping {
            try context.store.transaction { tx in
                var proton = try tx.proton(summary.id)
                try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
                try tx.updateProton(summary.id, to: proton, now: now)
            }
        }
        print("Offered \(name) a fresh address \(fresh.address.hex.prefix(8))… at \(fresh.route.serviceURI); it goes with your next message.")
    }
}
