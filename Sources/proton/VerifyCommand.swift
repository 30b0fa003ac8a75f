import ArgumentParser
import Foundation
import ProtonClient
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// `proton verify CONTACT`: is this contact's identity key the one a pinned directory attests?
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a contact's identity key against a directory's attestation and its log.",
        discussion: """
            Offline by default: a stored attestation bundle (from 'proton directory lookup' or \
            --name) is checked against the pinned directory key: the directory's signature, the \
            validity window, and the attestation's inclusion in a checkpoint the directory signed. \
            With --name NAME@NS the name is looked up first (online) and must be attested for \
            this contact's key. With --online every stored name is looked up again, which also \
            catches a later revocation or key change.

            Exit status: 0 verified; 66 no attestation is stored for this contact's key; 65 the \
            attestation is for another key, or does not verify; 76 the directory misbehaved.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("The contact, by name or relationship id prefix.", valueName: "contact"))
    var contact: String

    @Option(help: ArgumentHelp("Look this name up and require it to be attested for the contact's key.", valueName: "name@namespace"))
    var name: String?

    @Flag(help: "Look the stored names up again before verifying.")
    var online = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let contact: String
        let identityKey: String
        let verified: Bool
        let names: [Name]
        /// Names whose attestations verify but whose checkpoints are not yet proven consistent
        /// with the directory's log: not verified.
        let pending: [Name]
        let failures: [String]

        struct Name: Encodable {
            let name: String
            let logIndex: UInt64
            let treeSize: UInt64
            let expires: Date
            let directory: String

            init(_ attestation: DirectoryTrust.Verified) {
                name = attestation.stored.qualifiedName
                logIndex = attestation.bundle.attestation.logIndex
                treeSize = attestation.checkpoint.size
                expires = attestation.bundle.attestation.expires
                directory = attestation.pinned.url
            }
        }
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let summary = try await opened.contact(matching: contact)
        let label = summary.peerDisplayName ?? summary.relationshipID
        let peerKey = summary.peerIdentity
        let verification = try await opened.verifyContact(summary.id, name: name, online: online)
        let (verified, pending, failures) = (verification.verified, verification.pending, verification.failures)
        let entry = Entry(
            contact: label, identityKey: Base64URL.encode(peerKey.rawRepresentation), verified: !verified.isEmpty && failures.isEmpty,
            names: verified.map(Entry.Name.init),
            pending: pending.map(Entry.Name.init),
            failures: failures)
        if json {
            try Output.json(entry)
        } else {
            for name in entry.names {
                print(
                    "\(label) is \(name.name): the directory's attestation of this contact's key \(peerKey) verifies "
                        + "(log index \(name.logIndex), included in a signed tree of \(Output.entries(name.treeSize)), valid until \(Output.date(name.expires))).")
            }
        }
        for fork in verification.forks { fork.report() }
        if let fork = verification.forks.first {
            throw CommandFailure(status: .refused, message: "\(fork.directory) showed a checkpoint that is not its log's: \(fork.summary).")
        }
        if !failures.isEmpty {
            throw CommandFailure(status: .dataError, message: "Not verified: " + failures.joined(separator: "; "))
        }
        if verified.isEmpty, let first = entry.pending.first {
            throw CommandFailure(
                status: .temporaryFailure,
                message: "Pending: the attestation of \(label)'s key as \(first.name) verifies, but its checkpoint is not yet proven consistent with \(first.directory)'s log; run 'proton verify --online' or 'proton directory audit' when the directory can be reached.")
        }
        if verified.isEmpty {
            throw CommandFailure(
                status: .noInput,
                message: "No attestation is stored for \(label)'s key; look their name up with 'proton directory lookup NAME@NS' or pass --name.")
        }
    }
}
