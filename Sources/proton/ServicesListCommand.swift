import ArgumentParser
import Foundation
import ProtonClient

struct ServicesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List your sending and receiving services.")

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let opened = try profile.openForReading()
        defer { opened.close() }
        let services = try await opened.storedServices()
        if json {
            try Output.json(services)
            return
        }
        guard !services.isEmpty else {
            print("No services yet; add them with 'proton services add sending URI' and 'proton services add receiving URI'.")
            return
        }
        let rows =
            services.sending.map { ["sending", $0.uri, "", Output.date($0.added)] }
            + services.receiving.map { service in
                let key = (try? service.key()).map { "\($0.rawRepresentation.hex.prefix(16))…" } ?? "(invalid)"
                return ["receiving", service.uri, key, Output.date(service.added)]
            }
        Output.table(["KIND", "URI", "KEY", "ADDED"], rows)
    }
}
