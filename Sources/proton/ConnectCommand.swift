import ArgumentParser
import Foundation
import ProtonClient

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

    @Flag(help: "Refuse a key package without ML-KEM keys: the relationship must start post-quantum (PQXDH).")
    var requirePostQuantum = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Encodable {
        let state: String
        let name: String
        let relationshipID: String?
        let safetyNumber: String?
        let oneTimePrekeyUsed: Bool?
        let postQuantum: Bool?
        let delivered: Bool?
        let requestID: String?
    }

    func validate() throws {
        if attestation != nil && noAttestation { throw ValidationError("Choose --attestation NAME@NS or --no-attestation, not both.") }
        if let message, message.utf8.count > 1_024 { throw ValidationError("--message is limited to 1024 bytes here; send longer ones with 'proton send'.") }
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let stored = try await opened.persona(matching: persona)
        let choice: Profile.AttestationChoice = noAttestation ? .none : attestation.map { .named($0) } ?? .fromSameDirectory
        let connected: Profile.Connected
        do {
            connected = try await opened.connect(
                to: name, as: stored, message: Array((message ?? "").utf8), attestation: choice, requirePostQuantum: requirePostQuantum)
        } catch {
            let failure = error as ProfileError
            if failure == .agent(.noReceivingService) {
                throw CommandFailure(
                    status: .unavailable,
                    message: "No receiving service is configured, so \(name) would have no address of yours; add one with 'proton services add receiving URL'.")
            }
            // The refusals of a fetch a requester can act on get statuses of their own.
            if case .directory(.client(let refusal)) = failure, case .refused(let status, _, _) = refusal, status == 429 || status == 403 {
                throw CommandFailure(status: status == 429 ? .temporaryFailure : .noPermission, message: refusal.description.sentence)
            }
            if json, case .directory(.approvalPending(let qualified, let requestID)) = failure {
                try Output.json(
                    Report(
                        state: "pending", name: qualified, relationshipID: nil, safetyNumber: nil, oneTimePrekeyUsed: nil, postQuantum: nil,
                        delivered: nil,
                        requestID: requestID))
            }
            throw failure
        }
        let proton = connected.started.proton
        let qualified = connected.qualifiedName
        if json {
            try Output.json(
                Report(
                    state: "started", name: qualified, relationshipID: proton.relationshipID, safetyNumber: proton.safetyNumber.description,
                    oneTimePrekeyUsed: connected.usedOneTimePrekey, postQuantum: connected.postQuantum, delivered: connected.started.delivered,
                    requestID: nil))
        } else {
            print(
                "Connected to \(qualified) as \(stored.displayName): relationship \(proton.relationshipID), "
                    + "with the key attested at log index \(connected.attested.attestation.logIndex)"
                    + (connected.usedOneTimePrekey ? " and a one-time prekey" : " (its one-time prekeys ran out: the signed prekey alone)")
                    + (connected.postQuantum ? "; post-quantum (PQXDH, ML-KEM-768)." : "; a classical start (their key package has no ML-KEM keys): post-quantum from their first reply on, through the ratchet's ML-KEM steps."))
            print("Safety number (compare it with theirs): \(proton.safetyNumber)")
            if connected.started.delivered { print("Your first message is on its way; their 'proton receive' completes the relationship.") }
        }
        if let failure = connected.started.undeliveredFailure() { throw failure }
    }
}
