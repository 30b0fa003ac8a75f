import ArgumentParser
import Foundation
import ProtonClient
import ProtonCore
import ProtonStore

#if canImport(Glibc)
    import Glibc
#endif

struct ExportStateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-state",
        abstract: "Print the whole profile as JSON, for inspection or backup.",
        discussion: """
            Without --include-secrets the export holds no secret: personas with their public \
            keys, and every relationship with its peer identity, safety number, routes and \
            rotation state. Message bodies are never exported.

            With --include-secrets it also holds each persona's identity seed and each \
            relationship's ratchet state and skipped message keys (base64url). Anyone who gets \
            that output can read your messages and speak as you: write it only where you would \
            keep the profile itself.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Write JSON (the only format export-state writes).")
    var json = false

    @Flag(help: "Include identity seeds, ratchet state and skipped message keys.")
    var includeSecrets = false

    func run() async throws {
        let store = try profile.openStoreForReading()
        defer { try? store.close() }
        let now = Date()
        let info = try store.profileInfo()
        let personas = try store.personas().map { persona in
            var entry = ExportedPersona(persona)
            if includeSecrets {
                entry.identitySeed = try store.persona(persona.id).identityKey.seedBytes.unsafeExportedBytes().base64URL
            }
            return entry
        }
        let protons = try Contact.loadAll(from: store).map { contact in
            var entry = ExportedProton(detail: ContactDetail(contact, now: now), skippedKeyCount: contact.proton.skippedKeys.count)
            if includeSecrets {
                entry.protonState = contact.proton.serializedState().unsafeExportedBytes().base64URL
                entry.skippedKeys = contact.proton.skippedKeys.map(ExportedSkippedKey.init)
            }
            return entry
        }
        if includeSecrets && isatty(STDOUT_FILENO) == 1 {
            FileHandle.standardError.write(Data("proton: this output contains your secret keys.\n".utf8))
        }
        try Output.json(
            Export(
                exportedAt: now, includesSecrets: includeSecrets,
                profile: ExportedProfile(
                    directory: store.directory.path, created: info.created, formatVersion: info.formatVersion,
                    passphraseProtected: info.isPassphraseProtected),
                personas: personas, protons: protons))
    }
}

private struct Export: Encodable {
    let format = "proton-export"
    let formatVersion = 1
    let exportedAt: Date
    let includesSecrets: Bool
    let profile: ExportedProfile
    let personas: [ExportedPersona]
    let protons: [ExportedProton]
}

private struct ExportedProfile: Encodable {
    let directory: String
    let created: Date
    let formatVersion: Int
    let passphraseProtected: Bool
}

private struct ExportedPersona: Encodable {
    let id: String
    let displayName: String
    let identityKey: String
    let created: Date
    /// Secret: only with --include-secrets.
    var identitySeed: String?

    init(_ persona: StoredPersona) {
        id = persona.id.rawValue
        displayName = persona.displayName
        identityKey = persona.identityKey.rawRepresentation.base64URL
        created = persona.created
    }
}

private struct ExportedProton: Encodable {
    let detail: ContactDetail
    let skippedKeyCount: Int
    /// Secret: `Proton.serializedState()`, only with --include-secrets.
    var protonState: String?
    /// Secret: only with --include-secrets.
    var skippedKeys: [ExportedSkippedKey]?

    private enum CodingKeys: String, CodingKey {
        case skippedKeyCount, protonState, skippedKeys
    }

    func encode(to encoder: any Encoder) throws {
        try detail.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(skippedKeyCount, forKey: .skippedKeyCount)
        try container.encodeIfPresent(protonState, forKey: .protonState)
        try container.encodeIfPresent(skippedKeys, forKey: .skippedKeys)
    }
}

private struct ExportedSkippedKey: Encodable {
    let headerKey: String
    let messageNumber: UInt32
    let messageKey: String
    let storedAt: Date

    init(_ key: SkippedMessageKey) {
        headerKey = key.headerKey.unsafeExportedBytes().base64URL
        messageNumber = key.messageNumber
        messageKey = key.messageKey.unsafeExportedBytes().base64URL
        storedAt = key.storedAt
    }
}
