import ArgumentParser
import ProtonClient

struct PersonaAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a persona with a new identity key.",
        discussion: "Names are 1 to 64 bytes of UTF-8 without control characters, and unique within the profile.")

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("The persona's display name, as peers will see it.", valueName: "name"))
    var name: String

    func run() async throws {
        try Profile.validateDisplayName(name)
        let opened = try profile.open()
        defer { opened.close() }
        let persona = try await opened.addPersona(displayName: name)
        print("Added persona \(persona.displayName) (\(persona.identityKey))")
    }
}
