import ArgumentParser
import ProtonCore
import ProtonCrypto
import ProtonStore

struct PersonaAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a persona with a new identity key.",
        discussion: "Names are 1 to 64 bytes of UTF-8 without control characters, and unique within the profile.")

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("The persona's display name, as peers will see it.", valueName: "name"))
    var name: String

    func run() async throws {
        let persona: Persona
        do {
            persona = try Persona(displayName: name, random: SystemRandom())
        } catch {
            throw CommandFailure(unusableName: error)
        }
        let store = try profile.openStore()
        defer { try? store.close() }
        guard try !store.personas().contains(where: { $0.displayName.lowercased() == name.lowercased() }) else {
            throw CommandFailure(status: .dataError, message: "A persona named \"\(name)\" already exists in this profile.")
        }
        try store.addPersona(persona)
        print("Added persona \(persona.displayName) (\(persona.publicIdentity))")
    }
}

extension CommandFailure {
    /// Why a display name was refused, in words about the name (never the whole name echoed
    /// back: it may be thousands of characters, or made to confuse a terminal).
    init(unusableName error: WireError) {
        let why =
            switch error {
            case .oversized(_, let limit, let actual):
                "it is \(actual) bytes of UTF-8 and at most \(limit) fit (\(limit) Latin letters, fewer in most other scripts or with emoji)"
            case .invalidValue(_, let reason) where reason == "empty":
                "it is empty"
            case .invalidValue(_, let reason):
                "it \(reason)"
            default:
                "\(error)"
            }
        self.init(status: .usage, message: "The persona name is not usable: \(why).")
    }
}
