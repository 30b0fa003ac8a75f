import ArgumentParser
import Foundation
import ProtonClient
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// `proton directory lookup NAME@NS`.
struct DirectoryLookupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Look a name up, verify its attestation, and keep it for 'proton verify'.",
        discussion: """
            Verifies the directory's signature on the attestation and on the checkpoint (against \
            the pinned key), the attestation's inclusion in that checkpoint, and that the \
            checkpoint extends the last one seen from this directory. The bundle is stored, so \
            'proton verify' can check a contact's key offline later. Exits 67 when the name is \
            not registered, 76 when the directory's answer does not verify.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("NAME@NAMESPACE.", valueName: "name"))
    var name: String

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let name: String
        let identityKey: String
        let fingerprint: String
        let kind: String
        let logIndex: UInt64
        let issued: Date
        let expires: Date
        let treeSize: UInt64
        let rootHash: String
        let directory: String
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let (result, pinned) = try await opened.lookUp(name)
        let attestation = result.bundle.attestation
        let entry = Entry(
            name: attestation.qualifiedName, identityKey: Base64URL.encode(attestation.identityKey.rawRepresentation),
            fingerprint: attestation.identityKey.description, kind: attestation.kind.description, logIndex: attestation.logIndex,
            issued: attestation.issued, expires: attestation.expires, treeSize: result.checkpoint.size,
            rootHash: Base64URL.encode(result.checkpoint.rootHash), directory: pinned.url)
        if json { return try Output.json(entry) }
        print("\(entry.name) → \(entry.fingerprint)")
        print("  identity key  \(entry.identityKey)")
        print("  statement     \(entry.kind), log index \(entry.logIndex), valid until \(Output.date(entry.expires))")
        print("  verified      signed by the pinned key; included in the log of \(Output.entries(entry.treeSize)); consistent with your last audit")
    }
}
