import ArgumentParser

struct PersonaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona",
        abstract: "List or add personas: the identities you show to different people.",
        discussion: """
            Each persona has its own identity key. A relationship belongs to one persona, and \
            nothing links two personas of one profile in what a peer sees.
            """,
        subcommands: [PersonaListCommand.self, PersonaAddCommand.self],
        defaultSubcommand: PersonaListCommand.self)
}
