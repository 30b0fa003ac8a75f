import ArgumentParser
import Foundation
import ProtonClient

struct ServicesRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a sending or receiving service.",
        discussion: """
            Addresses you already gave contacts at a removed receiving service stay there: they \
            are no longer polled, and rotation moves each relationship to your other services.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("The service's URI as 'proton services list' shows it.", valueName: "uri"))
    var uri: String

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        try await opened.removeService(uri: uri)
        print("Removed \(uri).")
    }
}
