import ArgumentParser

struct PersonaListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the personas in the profile, oldest first.")

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let store = try profile.openStoreForReading()
        defer { try? store.close() }
        let personas = try store.personas()
        if json {
            try Output.json(personas.map(PersonaEntry.init))
            return
        }
        Output.table(
            ["NAME", "IDENTITY", "CREATED"],
            personas.map { [$0.displayName, $0.identityKey.description, Output.date($0.created)] })
    }
}
