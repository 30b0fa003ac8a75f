import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

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
        let firstContactRoute: String?
        let expires: Date?
        let requestID: String?
    }

    func run() async throws {
        let store = try profile.openStore()
        defer { try? store.close() }
        var state = try DirectoryState.load(from: store.directory)
        let (bare, pinned) = try QualifiedName.resolve(name, in: state)
        let chosen = try PersonaChoice.choose(persona, in: store)
        let keys = try store.persona(chosen.id)
        let now = Date()
        let attested = try await DirectoryLookup.runSaving(name: bare, pinned: pinned, state: &state, now: now, profile: store.directory)

        var ownAttestation: AttestationBundle?
        if attest {
            guard let own = state.verifiedAttestations(of: keys.identityKey.publicKey, now: now).verified.last else {
                throw CommandFailure(
                    status: .noInput, message: "No verified attestation of \(chosen.displayName)'s key is stored; register a name first.")
            }
            ownAttestation = own.bundle
        }
        let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
        let result = try await CommandFailure.directory { try await client.fetchKeyPackage(name: bare, key: keys.identityKey, attestation: ownAttestation, now: now) }
        let qualified = "\(bare)@\(pinned.namespace)"
        guard let encoded = result.keyPackage else {
            let entry = Entry(
                name: qualified, state: "pending", identityKey: nil, signedPrekey: nil, oneTimePrekeyIncluded: false, firstContactRoute: nil,
                expires: nil, requestID: result.requestID)
            if json { return try Output.json(entry) }
            return print("Asked \(qualified) for contact; request \(result.requestID ?? "?") waits for their approval.")
        }
        let package = try VendedKeyPackage.verify(encoded, attestedKey: attested.bundle.attestation.identityKey, name: qualified, url: pinned.url, now: now)
        let entry = Entry(
            name: qualified, state: "vended", identityKey: Base64URL.encode(package.identityKey.rawRepresentation),
            signedPrekey: Base64URL.encode(package.signedPrekey.rawRepresentation), oneTimePrekeyIncluded: !package.oneTimePrekeys.isEmpty,
            firstContactRoute: package.route?.serviceURI, expires: package.expires, requestID: nil)
        if json { return try Output.json(entry) }
        print(
            "\(qualified)'s key package: identity \(package.identityKey) (the attested key), "
                + (package.oneTimePrekeys.isEmpty ? "signed prekey only (no one-time prekeys left)" : "with a one-time prekey")
                + ", valid until \(Output.date(package.expires)).")
    }
}

/// The checks every key package a broker vends must pass before it is used or shown: it
/// decodes and its signature verifies, it is signed by exactly the key the name's verified
/// attestation binds (a broker cannot hand out a key its own log does not show), it holds at
/// most one one-time prekey, and it has not expired.
enum VendedKeyPackage {
    static func verify(_ encoded: String, attestedKey: Ed25519.PublicKey, name: String, url: String, now: Date) throws -> KeyPackage {
        let package: KeyPackage
        do { package = try KeyPackage(decoding: try Base64URL.decode(encoded, limit: KeyPackage.maximumByteCount * 2)) } catch {
            throw CommandFailure(status: .directoryMisbehaved, message: "\(url) vended a key package for \(name) that does not verify: \(error).")
        }
        guard package.identityKey == attestedKey else {
            throw CommandFailure(
                status: .directoryMisbehaved,
                message: "\(url) vended a key package for \(package.identityKey), but its log attests \(attestedKey) for \(name); nothing was stored.")
        }
        guard package.expires > now, package.oneTimePrekeys.count <= 1 else {
            throw CommandFailure(status: .directoryMisbehaved, message: "\(url) vended an expired key package or more than one one-time prekey.")
        }
        return package
    }
}
