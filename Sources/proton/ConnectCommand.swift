import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import ProtonStore

/// `proton connect NAME@NS`: starts a relationship from the key package a brokered directory
/// vends for an attested name, asynchronously: the first message goes out through the send
/// agent, and the owner's receive agent completes the relationship.
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Start a relationship with NAME@NAMESPACE through its brokered directory.",
        discussion: """
            First looks the name up and verifies its attestation (signature under the pinned \
            key, inclusion in a signed checkpoint, consistency with your last audit), then \
            fetches the name's key package — signed by the attested key, or refused — with a \
            request signed by your persona's key, presenting your own attestation from the same \
            directory when you have one (the 'attested' contact rule asks for it; \
            --attestation NAME@NS presents another, --no-attestation none). The relationship starts with \
            X3DH on the package's prekeys; your first message carries your name and a fresh \
            address of yours to the package's address, and the owner's 'proton receive' \
            completes it. The contact shows as verified, since its key is the attested one.

            Exit status 75 when the owner has not approved you yet (the 'approval' rule: the \
            request is recorded; run the command again once approved) or the directory's rate \
            limit was reached; 77 when the owner's rule refuses you; 67 when the name has no key \
            package; 76 when the directory's answers do not verify.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("NAME@NAMESPACE, or NAME when one directory is pinned.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Connect as this persona, by name or id prefix (default: the first).", valueName: "persona"))
    var persona: String?

    @Option(help: ArgumentHelp("A first message to send with the connection.", valueName: "text"))
    var message: String?

    @Option(help: ArgumentHelp(
        "Present this attestation of your name (default: your one from the same directory, if any).", valueName: "name@namespace"))
    var attestation: String?

    @Flag(help: "Present no attestation of your name.")
    var noAttestation = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Encodable {
        let state: String
        let name: String
        let relationshipID: String?
        let safetyNumber: String?
        let oneTimePrekeyUsed: Bool?
        let delivered: Bool?
        let requestID: String?
    }

    func validate() throws {
        if attestation != nil && noAttestation { throw ValidationError("Choose --attestation NAME@NS or --no-attestation, not both.") }
        if let message, message.utf8.count > 1_024 { throw ValidationError("--message is limited to 1024 bytes here; send longer ones with 'proton send'.") }
    }

    func run() async throws {
        let context = try AgentContext(profile: profile)
        defer { context.close() }
        let store = context.store
        var state = try DirectoryState.load(from: store.directory)
        let (bare, pinned) = try QualifiedName.resolve(name, in: state)
        let qualified = bare + "@" + pinned.namespace
        let stored = try PersonaChoice.choose(persona, in: store)
        let keys = try store.persona(stored.id)
        guard !context.services.receiving.isEmpty else {
            throw CommandFailure(
                status: .unavailable,
                message: "No receiving service is configured, so \(qualified) would have no address of yours; add one with 'proton services add receiving URL'.")
        }
        let now = Date()

        // The key the name is attested to: the package must be signed by it.
        let attested = try await DirectoryLookup.runSaving(name: bare, pinned: pinned, state: &state, now: now, profile: store.directory).bundle
        let peerKey = attested.attestation.identityKey
        if try store.personas().contains(where: { $0.identityKey == peerKey }) {
            throw CommandFailure(status: .usage, message: "\(qualified) is one of your own personas.")
        }

        // Before the fetch, which uses up a one-time prekey and a request of the rate limit.
        if let existing = try store.protons().first(where: { $0.personaID == stored.id && $0.peerIdentity == peerKey }) {
            throw CommandFailure(
                status: .usage, message: "\(stored.displayName) already has a relationship (\(existing.relationshipID)) with \(qualified).")
        }

        // Our own attestation, for an owner whose rule is 'attested': by default the one from
        // this directory, which learns nothing new from it (it attested the key itself).
        let ownBundle: AttestationBundle?
        if noAttestation {
            ownBundle = nil
        } else if let attestation {
            ownBundle = try state.bundleToPresent(
                for: keys.identityKey.publicKey, persona: stored.displayName, choice: try QualifiedName.qualified(attestation, in: state), now: now)
        } else {
            ownBundle = state.verifiedAttestations(of: keys.identityKey.publicKey, now: now).verified
                .last { $0.bundle.attestation.namespace == pinned.namespace }?.bundle
        }
        let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
        let fetched = try await Self.fetch { try await client.fetchKeyPackage(name: bare, key: keys.identityKey, attestation: ownBundle, now: now) }
        guard let encoded = fetched.keyPackage else {
            let request = fetched.requestID ?? "?"
            if json {
                try Output.json(
                    Report(
                        state: "pending", name: qualified, relationshipID: nil, safetyNumber: nil, oneTimePrekeyUsed: nil, delivered: nil,
                        requestID: request))
            }
            throw CommandFailure(
                status: .temporaryFailure,
                message: "\(qualified) approves each contact: your request \(request) waits for them; run 'proton connect \(qualified)' again once they approve it.")
        }
        let package = try VendedKeyPackage.verify(encoded, attestedKey: peerKey, name: qualified, url: pinned.url, now: now)
        guard package.route != nil else {
            throw CommandFailure(status: .dataError, message: "The key package of \(qualified) has no first-contact address to write to.")
        }

        let body = Array((message ?? "").utf8)
        let started = try await CommandFailure.mapping {
            try await InitiatorStart(context: context).run(
                personaID: stored.id, body: body, now: now,
                initiate: { route in
                    let started = try Proton.initiate(persona: keys, keyPackage: package, ourRoutes: [route], body: body, now: now, random: SystemRandom())
                    return (started.proton, started.initialMessage)
                },
                failure: { error in
                    if case StoreError.duplicateRelationship(let relationshipID) = error {
                        return CommandFailure(status: .usage, message: "\(stored.displayName) already has a relationship (\(relationshipID)) with \(qualified).")
                    }
                    return CommandFailure(status: .dataError, message: "The key package of \(qualified) could not start a relationship: \(error).")
                })
        }
        let proton = started.proton

        if json {
            try Output.json(
                Report(
                    state: "started", name: qualified, relationshipID: proton.relationshipID, safetyNumber: proton.safetyNumber.description,
                    oneTimePrekeyUsed: !package.oneTimePrekeys.isEmpty, delivered: started.delivered, requestID: nil))
        } else {
            print(
                "Connected to \(qualified) as \(stored.displayName): relationship \(proton.relationshipID), "
                    + "with the key attested at log index \(attested.attestation.logIndex)"
                    + (package.oneTimePrekeys.isEmpty ? " (its one-time prekeys ran out: the signed prekey alone)." : " and a one-time prekey."))
            print("Safety number (compare it with theirs): \(proton.safetyNumber)")
            if started.delivered { print("Your first message is on its way; their 'proton receive' completes the relationship.") }
        }
        if let failure = started.undeliveredFailure() { throw failure }
    }

    /// The fetch, with the refusals a requester can act on given their own statuses.
    private static func fetch(_ body: () async throws -> BrokerAPI.FetchResult) async throws -> BrokerAPI.FetchResult {
        do { return try await body() } catch let failure as DirectoryClient.Failure {
            switch failure {
            case .refused(429, _, _): throw CommandFailure(status: .temporaryFailure, message: failure.description.sentence)
            case .refused(403, _, _): throw CommandFailure(status: .noPermission, message: failure.description.sentence)
            default: return try await CommandFailure.directory { throw failure }
            }
        }
    }
}
