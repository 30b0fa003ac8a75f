import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonStore

struct BlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block",
        abstract: "Block a contact by retiring every address you gave them.",
        discussion: """
            Every address this contact could reach you at is retired at once, here and at its \
            receiving service, which then answers their deliveries with 410 Gone. Nothing more is \
            sent to them. No identity changes and no other relationship is touched. Exits with \
            status 69 when the block holds here but a service could not be told.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("A contact's name or the start of its relationship id.", valueName: "contact"))
    var contact: String

    func run() async throws {
        let context = try AgentContext(profile: profile)
        defer { context.close() }
        let summary = try Contact.resolve(contact, in: context.store.protons())
        let name = summary.peerDisplayName ?? summary.relationshipID
        let now = Date()
        // The block holds in the profile first, so that nothing is read from them even if a
        // service cannot be reached.
        let retired: [OwnRoute]? = try context.store.transaction { tx in
            var proton = try tx.proton(summary.id)
            guard !proton.isBlocked else { return nil }
            let retired = proton.block()
            try tx.updateProton(summary.id, to: proton, now: now)
            return retired
        }
        guard let retired else {
            print("\(name) is blocked already.")
            return
        }
        let mailboxes = Dictionary(context.services.mailboxes().map { ($0.serviceURI, $0) }, uniquingKeysWith: { a, _ in a })
        var failures: [String] = []
        for route in retired {
            guard let mailbox = mailboxes[route.route.serviceURI] else {
                failures.append("\(route.route.serviceURI) is not among your receiving services")
                continue
            }
            do throws(RelayError) { try await mailbox.retire(route.ownedAddress) } catch {
                failures.append("\(route.route.serviceURI): \(error)")
            }
        }
        print("Blocked \(name): \(retired.count) address\(retired.count == 1 ? "" : "es") retired.")
        guard failures.isEmpty else {
            throw CommandFailure(
                status: .unavailable,
                message: "\(name) is blocked here, but \(failures.count) of the addresses could not be retired at their service (\(failures[0])).")
        }
    }
}
