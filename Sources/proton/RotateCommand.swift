import ArgumentParser
import Foundation
import ProtonClient

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
        let opened = try profile.open()
        defer { opened.close() }
        guard try await !opened.storedServices().receiving.isEmpty else { throw CommandFailure(profile: .agent(.noReceivingService)) }
        let summary = try await opened.contact(matching: contact)
        let fresh = try await opened.rotate(summary.id)
        let name = summary.peerDisplayName ?? summary.relationshipID
        print("Offered \(name) a fresh address \(fresh.address.hex.prefix(8))… at \(fresh.route.serviceURI); it goes with your next message.")
    }
}
