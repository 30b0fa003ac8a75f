import ArgumentParser
import Foundation
import ProtonClient
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// `proton directory fetch NAME@NS`: the requester's half of a brokered start, up to the key
/// package: the name's attestation is looked up and verified first, and the package the broker
/// vends must carry exactly the attested identity key, so a broker cannot hand out a key its
/// own log does not show.
struct DirectoryFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch a name's key package from a brokered directory and check it against the name's attestation.",
        discussion: """
            The request is signed by your persona's identity key, which the directory's contact \
            rules and rate limits apply to; with --attest your own stored attestation is sent \
            (for names whose rule is 'attested'). Under the 'approval' rule the first fetch files \
            a request and prints its id. It stores nothing: 'proton connect' fetches a package and \
            starts the relationship from it. Exits 76 if the package's identity key is not the \
            attested one.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("NAME@NAMESPACE.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Ask as this persona (default: the first).", valueName: "persona"))
    var persona: String?

    @Flag(help: "Send your own stored attestation (for the 'attested' contact rule).")
    var attest = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let name: String
        let state: String
        let identityKey: String?
        let signedPrekey: String?
        let oneTimePrekeyIncluded: Bool
        /// Whether the package has ML-KEM keys: a start from it is hybrid (PQXDH).
        let postQuantum: Bool
        let firstContactRoute: String?
        let expires: Date?
        let requestID: String?
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let chosen = try await opened.persona(matching: persona)
        let fetched = try await opened.fetchKeyPackage(for: name, as: chosen, attestation: attest ? .fromAnyDirectory : .none)
        switch fetched {
        case .pending(let requestID, let qualified):
            let entry = Entry(
                name: qualified, state: "pending", identityKey: nil, signedPrekey: nil, oneTimePrekeyIncluded: false, postQuantum: false, firstContactRoute: nil,
                expires: nil, requestID: requestID)
            if json { return try Output.json(entry) }
            print("Asked \(qualified) for contact; request \(requestID ?? "?") waits for their approval.")
        case .vended(let package, _, let qualified):
            let entry = Entry(
                name: qualified, state: "vended", identityKey: Base64URL.encode(package.identityKey.rawRepresentation),
                signedPrekey: Base64URL.encode(package.signedPrekey.rawRepresentation), oneTimePrekeyIncluded: !package.oneTimePrekeys.isEmpty,
                postQuantum: package.isHybrid, firstContactRoute: package.route?.serviceURI, expires: package.expires, requestID: nil)
            if json { return try Output.json(entry) }
            print(
                "\(qualified)'s key package: identity \(package.identityKey) (the attested key), "
                    + (package.oneTimePrekeys.isEmpty ? "signed prekey only (no one-time prekeys left)" : "with a one-time prekey")
                    + (package.isHybrid ? ", post-quantum (ML-KEM-768)" : ", classical only (no ML-KEM keys)")
                    + ", valid until \(Output.date(package.expires)).")
        }
    }
}
