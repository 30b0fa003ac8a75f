import ArgumentParser
import Foundation
import ProtonClient

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
        let opened = try profile.open()
        defer { opened.close() }
        let summary = try await opened.contact(matching: contact)
        let name = summary.peerDisplayName ?? summary.relationshipID
        let report = try await opened.block(summary.id)
        guard !report.alreadyBlocked else {
            print("\(name) is blocked already.")
            return
        }
        print("Blocked \(name): \(report.retired.count) address\(report.retired.count == 1 ? "" : "es") retired.")
        guard let first = report.failures.first else { return }
        let why = first.error.map { "\(first.serviceURI): \($0)" } ?? "\(first.serviceURI) is not among your receiving services"
        throw CommandFailure(
            status: .unavailable,
            message: "\(name) is blocked here, but \(report.failures.count) of the addresses could not be retired at their service (\(why)).")
    }
}
