import ArgumentParser
import Foundation
import ProtonClient

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a profile with its first persona.",
        discussion: """
            The profile directory is created with mode 0700 and its database with mode 0600. \
            If PROTON_PASSPHRASE is set, the secrets in the profile (identity keys, ratchet \
            state, message bodies) are sealed under a key derived from it with Argon2id, and \
            every later command needs the same passphrase. An existing profile is never \
            overwritten.
            """)

    @OptionGroup var profile: ProfileOptions

    @Option(help: ArgumentHelp("The first persona's display name (default: your login name).", valueName: "name"))
    var name: String?

    @Flag(help: "Print the new profile as JSON.")
    var json = false

    func run() async throws {
        let directory = profile.directory()
        let passphrase = ProfileOptions.passphrase()
        let created = try Profile.create(at: directory, displayName: name ?? Self.loginName, passphrase: passphrase)
        defer { created.close() }
        let persona = try await created.persona(matching: nil)

        if json {
            try Output.json(InitReport(profile: directory.path, persona: PersonaEntry(persona), passphraseProtected: passphrase != nil))
            return
        }
        print("Created a Proton profile in \(directory.path)")
        print("Persona: \(persona.displayName) (\(persona.identityKey))")
        if passphrase != nil {
            print("Secrets are sealed under the passphrase in PROTON_PASSPHRASE; keep it set for every proton command.")
        } else {
            print("Secrets are not passphrase-protected; set PROTON_PASSPHRASE before 'proton init' to protect them.")
        }
    }

    private static var loginName: String {
        let name = ProcessInfo.processInfo.environment["USER"] ?? ""
        return name.isEmpty ? "me" : name
    }

    private struct InitReport: Encodable {
        let profile: String
        let persona: PersonaEntry
        let passphraseProtected: Bool
    }
}
