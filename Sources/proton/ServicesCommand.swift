import ArgumentParser
import ProtonClient

struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List, add or remove your sending and receiving services.",
        discussion: """
            Sending services relay your messages without learning the recipient's address. \
            Receiving services hold the addresses you give your contacts, one per relationship, \
            rotating. The list is kept in the profile's database.
            """,
        subcommands: [ServicesListCommand.self, ServicesAddCommand.self, ServicesRemoveCommand.self],
        defaultSubcommand: ServicesListCommand.self)
}

extension Profile.ServiceKind: ExpressibleByArgument {}
