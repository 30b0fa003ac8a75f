import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

/// `proton directory ...`: pin attesting directories, register and look up names, audit their
/// logs; and, for a directory's operator, approve and allow names in its data directory.
struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Use attesting directories: pin, register, look up, audit; approve and allow as an operator.",
        discussion: """
            An attesting directory binds name@namespace to a persona's identity key, signs the \
            binding, and appends it to a public append-only log (RFC 9162 Merkle tree, C2SP \
            signed checkpoints). The client pins the directory's key, checks every attestation's \
            inclusion in a signed checkpoint, and checks that each new checkpoint extends the \
            last one it saw. What it keeps is in directories.json in the profile.

            Exit status as for every command, and: 76 when a directory misbehaved (a forked or \
            rolled-back log, a checkpoint or attestation that does not verify under the pinned \
            key, a key other than the pinned one).
            """,
        subcommands: [
            DirectoryAddCommand.self, DirectoryListCommand.self, DirectoryRegisterCommand.self, DirectoryLookupCommand.self,
            DirectoryFetchCommand.self, DirectoryPublishCommand.self, DirectoryAuditCommand.self, DirectoryApproveCommand.self, DirectoryDenyCommand.self, DirectoryAllowCommand.self,
            DirectoryPendingCommand.self,
        ])
}

extension CommandFailure {
    /// Runs a directory client call, turning its failures into sentences and statuses.
    static func directory<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let failure as DirectoryClient.Failure {
            switch failure {
            case .unavailable: throw CommandFailure(status: .unavailable, message: failure.description.sentence)
            case .refused(let status, _, _) where status == 404:
                throw CommandFailure(status: .noUser, message: failure.description.sentence)
            case .refused: throw CommandFailure(status: .dataError, message: failure.description.sentence)
            case .invalidResponse: throw CommandFailure(status: .directoryMisbehaved, message: failure.description.sentence)
            }
        } catch let misbehaviour as DirectoryAuditor.Misbehaviour {
            misbehaviour.report()
            throw CommandFailure(status: .directoryMisbehaved, message: "The directory at \(misbehaviour.directory) misbehaved: \(misbehaviour.summary).")
        }
    }

    static func operatorCall<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let refusal as DirectoryRefusal {
            throw CommandFailure(status: .dataError, message: refusal.description.sentence)
        } catch let error as DataDirectoryError {
            throw CommandFailure(status: .noInput, message: error.description)
        }
    }
}

/// `proton directory add URL --key VKEY`.
struct DirectoryAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Pin an attesting directory by its key.",
        discussion: """
            The key is the directory's C2SP verifier key (NAME+KEYID+BASE64), which its operator \
            publishes out of band. The directory must report that same key, and its newest \
            checkpoint must verify under it; that checkpoint becomes the first one the audit \
            remembers. Exits 76 if the directory shows another key.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("The directory's base URL.", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("The directory's verifier key to pin.", valueName: "vkey"))
    var key: String

    func run() async throws {
        let store = try profile.openStore()
        let directory = store.directory
        try? store.close()
        let verifier: NoteVerifier
        do { verifier = try NoteVerifier(verifierKey: key) } catch {
            throw CommandFailure(status: .usage, message: "--key is not a C2SP verifier key (NAME+KEYID+BASE64): \(error).")
        }
        let normalized: String
        do { normalized = try ServicesConfiguration.normalize(url) } catch {
            throw CommandFailure(status: .usage, message: "\(url) is not an http(s) URL.")
        }
        var state = try DirectoryState.load(from: directory)
        guard state.index(of: normalized) == nil else {
            throw CommandFailure(status: .usage, message: "\(normalized) is pinned already; 'proton directory list' shows it.")
        }
        let client = DirectoryClient(baseURL: normalized, client: AgentHTTPClient.client(isolating: "directory|\(normalized)"))
        let now = Date()
        let pinned = try await CommandFailure.directory {
            let info = try await client.info()
            guard info.verifierKey == verifier.verifierKey, info.origin == verifier.name,
                info.origin == DirectoryNames.origin(namespace: info.namespace)
            else {
                throw CommandFailure(
                    status: .directoryMisbehaved,
                    message: "\(normalized) reports the key \(info.verifierKey), not the one you gave; nothing was pinned.")
            }
            guard state.directory(namespace: info.namespace) == nil else {
                throw CommandFailure(status: .usage, message: "A directory for \(info.namespace) is pinned already.")
            }
            var pinned = DirectoryState.Pinned(
                url: normalized, namespace: info.namespace, verifierKey: verifier.verifierKey, added: now, checkpoint: nil,
                checkpointSeen: nil, evidence: [])
            _ = try await DirectoryAuditor(client: client, now: now).accept(client.checkpoint(), into: &pinned)
            return pinned
        }
        state.directories.append(pinned)
        try state.save(to: directory)
        let size = (try? pinned.storedCheckpoint()?.size) ?? 0
        print("Pinned the directory for \(pinned.namespace) at \(normalized) (log of \(Output.entries(size))).")
    }
}

/// `proton directory list`.
struct DirectoryListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the pinned directories.")

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Entry: Encodable {
        let namespace: String
        let url: String
        let verifierKey: String
        let checkpointSize: UInt64?
        let checkpointSeen: Date?
        let forkEvidence: Int
    }

    func run() async throws {
        let store = try profile.openStore()
        let directory = store.directory
        try? store.close()
        let state = try DirectoryState.load(from: directory)
        let entries = try state.directories.map { pinned in
            Entry(
                namespace: pinned.namespace, url: pinned.url, verifierKey: pinned.verifierKey, checkpointSize: try pinned.storedCheckpoint()?.size,
                checkpointSeen: pinned.checkpointSeen, forkEvidence: pinned.evidence.count)
        }
        if json { return try Output.json(entries) }
        guard !entries.isEmpty else { return print("No directories pinned.") }
        Output.table(
            ["NAMESPACE", "URL", "LOG SIZE", "AUDIT"],
            entries.map { [$0.namespace, $0.url, $0.checkpointSize.map { String($0) } ?? "-", $0.forkEvidence > 0 ? "FORK EVIDENCE" : "ok"] })
    }
}

/// Parses `NAME` or `NAME@NS`; a bare name needs exactly one pinned directory.
enum QualifiedName {
    static func resolve(_ text: String, in state: DirectoryState) throws -> (name: String, pinned: DirectoryState.Pinned) {
        if text.contains("@") {
            guard let (name, namespace) = DirectoryNames.split(text) else {
                throw CommandFailure(status: .usage, message: "\"\(text)\" is not NAME@NAMESPACE with a valid name and a lowercase domain.")
            }
            return (name, try state.requireDirectory(namespace: namespace))
        }
        guard DirectoryNames.isValidName(text) else {
            throw CommandFailure(status: .usage, message: "\"\(text)\" is not a valid name (1 to 64 characters of a-z, 0-9, '.', '_' or '-').")
        }
        guard state.directories.count == 1 else {
            throw CommandFailure(
                status: .usage,
                message: state.directories.isEmpty
                    ? "No directory is pinned; pin one with 'proton directory add URL --key KEY'."
                    : "Several directories are pinned; write the name as NAME@NAMESPACE.")
        }
        return (text, state.directories[0])
    }
}

/// Fetches and checks what a directory says about a name, and stores the bundle.
enum DirectoryLookup {
    struct Result {
        let bundle: AttestationBundle
        let checkpoint: Checkpoint
    }

    /// `run`, then writes `state` to the profile whatever the outcome: what the lookup learnt
    /// (a newer checkpoint, fork evidence) is kept even when the lookup fails.
    static func runSaving(name: String, pinned: DirectoryState.Pinned, state: inout DirectoryState, now: Date, profile: URL) async throws -> Result {
        let result: Result
        do { result = try await run(name: name, pinned: pinned, state: &state, now: now) } catch {
            try? state.save(to: profile)
            throw error
        }
        try state.save(to: profile)
        return result
    }

    /// Looks `name` up at `pinned`; verifies the bundle against the pinned key, its name and
    /// namespace, and its checkpoint against the audit's stored one. Updates `state`.
    static func run(name: String, pinned: DirectoryState.Pinned, state: inout DirectoryState, now: Date) async throws -> Result {
        let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
        let status = try await CommandFailure.directory { try await client.lookup(name) }
        guard status.state == .attested, let encoded = status.bundle else {
            throw CommandFailure(status: .noUser, message: "\(name)@\(pinned.namespace) was revoked; no key is attested for it now.")
        }
        guard let bytes = try? Base64URL.decode(encoded, limit: AttestationBundle.maximumByteCount),
            let bundle = try? AttestationBundle(decoding: bytes)
        else { throw CommandFailure(status: .directoryMisbehaved, message: "\(pinned.url) answered with an attestation bundle that does not parse.") }
        let checkpoint: Checkpoint
        do { checkpoint = try bundle.verify(directory: try pinned.verifier(), now: now) } catch {
            throw CommandFailure(status: .directoryMisbehaved, message: "The attestation for \(name)@\(pinned.namespace) does not verify: \(error).")
        }
        guard bundle.attestation.name == name, bundle.attestation.namespace == pinned.namespace else {
            throw CommandFailure(
                status: .directoryMisbehaved, message: "\(pinned.url) answered for \(bundle.attestation.qualifiedName) when asked for \(name)@\(pinned.namespace).")
        }
        guard let index = state.index(of: pinned.url) else { throw CommandFailure(status: .software, message: "The directory is not pinned.") }
        var updated = state.directories[index]
        do {
            _ = try await CommandFailure.directory {
                try await DirectoryAuditor(client: client, now: now).accept(bundle.checkpoint, into: &updated)
            }
        } catch {
            state.directories[index] = updated
            throw error
        }
        state.directories[index] = updated
        state.store(bundle, now: now)
        return Result(bundle: bundle, checkpoint: checkpoint)
    }
}

/// `proton directory register NAME`.
struct DirectoryRegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Ask a pinned directory to attest a name for one of your personas.",
        discussion: """
            The request is signed by the persona's identity key (proof of possession) and names \
            the namespace and the name. Under an 'open' directory the name is attested at once; \
            under 'approve' it waits for the operator; under 'allowlist' only listed names are \
            attested. A name held by another key is refused (status 65).
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("NAME, or NAME@NAMESPACE when several directories are pinned.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Register this persona, by name or id prefix (default: the first).", valueName: "persona"))
    var persona: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let store = try profile.openStore()
        defer { try? store.close() }
        var state = try DirectoryState.load(from: store.directory)
        let (bare, pinned) = try QualifiedName.resolve(name, in: state)
        let stored = try PersonaChoice.choose(persona, in: store)
        let keys = try store.persona(stored.id)
        let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
        let now = Date()
        let (_, status) = try await CommandFailure.directory {
            try await client.register(name: bare, namespace: pinned.namespace, key: keys.identityKey, now: now)
        }
        if status.state == .pending {
            if json { return try Output.json(status) }
            return print("Asked for \(bare)@\(pinned.namespace); the directory's operator must approve it ('proton directory approve \(bare)').")
        }
        let result = try await DirectoryLookup.run(name: bare, pinned: pinned, state: &state, now: now)
        let registration = DirectoryState.Registered(
            name: bare, namespace: pinned.namespace, identityKey: Base64URL.encode(keys.identityKey.publicKey.rawRepresentation))
        if !(state.registered ?? []).contains(registration) { state.registered = (state.registered ?? []) + [registration] }
        try state.save(to: store.directory)
        guard result.bundle.attestation.identityKey == keys.identityKey.publicKey else {
            throw CommandFailure(status: .directoryMisbehaved, message: "The directory attests another key for \(bare)@\(pinned.namespace).")
        }
        if json { return try Output.json(status) }
        print(
            "\(bare)@\(pinned.namespace) is attested for \(stored.displayName) (log index \(result.bundle.attestation.logIndex), "
                + "expires \(Output.date(result.bundle.attestation.expires)); inclusion verified in a log of \(Output.entries(result.checkpoint.size))).")
    }
}

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
        let store = try profile.openStore()
        let directory = store.directory
        try? store.close()
        var state = try DirectoryState.load(from: directory)
        let (bare, pinned) = try QualifiedName.resolve(name, in: state)
        let now = Date()
        let result = try await DirectoryLookup.runSaving(name: bare, pinned: pinned, state: &state, now: now, profile: directory)
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

/// `proton directory audit`.
struct DirectoryAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check that each pinned directory's log only grew since you last looked.",
        discussion: """
            Fetches each pinned directory's newest signed checkpoint and a consistency proof from \
            the checkpoint stored at the last audit (or lookup). A checkpoint of the same size with \
            another root, one that does not extend the stored tree, or a smaller tree that the \
            stored one does not extend is a fork: it is reported on standard error, both signed \
            checkpoints are kept as evidence, and the command exits 76 (EX_PROTOCOL). An \
            unreachable directory exits 69 after the others are checked.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let namespace: String
        let url: String
        let result: String
        let size: UInt64?
        let detail: String?
    }

    func run() async throws {
        let store = try profile.openStore()
        let directory = store.directory
        try? store.close()
        var state = try DirectoryState.load(from: directory)
        guard !state.directories.isEmpty else {
            throw CommandFailure(status: .usage, message: "No directory is pinned; pin one with 'proton directory add URL --key KEY'.")
        }
        let now = Date()
        var entries = [Entry]()
        var worst: ExitStatus?
        for index in state.directories.indices {
            var pinned = state.directories[index]
            let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
            do {
                let note = try await client.checkpoint()
                let outcome = try await DirectoryAuditor(client: client, now: now).accept(note, into: &pinned)
                switch outcome {
                case .first(let checkpoint): entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "first", size: checkpoint.size, detail: nil))
                case .unchanged(let checkpoint): entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "unchanged", size: checkpoint.size, detail: nil))
                case .extended(let from, let checkpoint):
                    entries.append(
                        Entry(namespace: pinned.namespace, url: pinned.url, result: "consistent", size: checkpoint.size, detail: "grew from \(from)"))
                case .behind(let checkpoint):
                    entries.append(
                        Entry(namespace: pinned.namespace, url: pinned.url, result: "behind", size: checkpoint.size, detail: "an older state, consistent"))
                }
            } catch let misbehaviour as DirectoryAuditor.Misbehaviour {
                misbehaviour.report()
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "FORK", size: nil, detail: misbehaviour.summary))
                worst = .directoryMisbehaved
            } catch let failure as DirectoryClient.Failure {
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "unreachable", size: nil, detail: failure.description))
                if worst == nil { worst = .unavailable }
            }
            state.directories[index] = pinned
        }
        try state.save(to: directory)
        if json {
            try Output.json(entries)
        } else {
            Output.table(
                ["NAMESPACE", "URL", "RESULT", "LOG SIZE"],
                entries.map { [$0.namespace, $0.url, $0.result + ($0.detail.map { " (\($0))" } ?? ""), $0.size.map { String($0) } ?? "-"] })
        }
        if let worst {
            throw CommandFailure(
                status: worst,
                message: worst == .directoryMisbehaved
                    ? "At least one directory's log forked or rolled back; see the report above."
                    : "At least one directory could not be reached; its log was not checked.")
        }
    }
}

// MARK: - Operator

/// `--data DIR` for the operator's commands, which act on a directory service's data directory.
struct DirectoryDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The directory service's data directory.", valueName: "dir"))
    var data: String

    func open() throws -> DirectoryRegistry {
        try CommandFailure.operatorCall {
            try DirectoryRegistry(dataDirectory: URL(fileURLWithPath: data, isDirectory: true), namespace: nil)
        }
    }
}

struct DirectoryApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Operator: approve a pending registration (the 'approve' policy); the attestation is logged.",
        discussion: "Works while the service runs: changes to the data directory are serialised by a file lock.")

    @OptionGroup var data: DirectoryDataOptions

    @Argument(help: "The pending name.")
    var name: String

    func run() async throws {
        let registry = try data.open()
        defer { registry.close() }
        let binding = try CommandFailure.operatorCall { try registry.approve(name: name, now: Date()) }
        print("Approved \(name)@\(registry.namespace) for \(binding.identityKey): logged at index \(binding.logIndex).")
    }
}

struct DirectoryDenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deny", abstract: "Operator: refuse a pending registration; nothing is logged.")

    @OptionGroup var data: DirectoryDataOptions

    @Argument(help: "The pending name.")
    var name: String

    func run() async throws {
        let registry = try data.open()
        defer { registry.close() }
        try CommandFailure.operatorCall { try registry.deny(name: name) }
        print("Refused the pending registration of \(name)@\(registry.namespace).")
    }
}

struct DirectoryAllowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allow",
        abstract: "Operator: put a name on the allowlist (the 'allowlist' policy).",
        discussion: "With --key only that identity key may register the name; without it, the first key to prove possession.")

    @OptionGroup var data: DirectoryDataOptions

    @Argument(help: "The name to allow.")
    var name: String

    @Option(help: ArgumentHelp("Only this identity key (base64url, 32 bytes).", valueName: "key"))
    var key: String?

    func run() async throws {
        let registry = try data.open()
        defer { registry.close() }
        var identityKey: Ed25519.PublicKey?
        if let key {
            guard let bytes = try? Base64URL.decode(key, limit: 32), let parsed = try? Ed25519.PublicKey(rawRepresentation: bytes) else {
                throw CommandFailure(status: .usage, message: "--key must be a 32-byte Ed25519 key in base64url.")
            }
            identityKey = parsed
        }
        try CommandFailure.operatorCall { try registry.allow(name: name, identityKey: identityKey, now: Date()) }
        print("Allowed \(name)@\(registry.namespace)\(key.map { " for the key \($0)" } ?? " for the first key to register it").")
    }
}

struct DirectoryPendingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pending", abstract: "Operator: list pending registrations.")

    @OptionGroup var data: DirectoryDataOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let name: String
        let identityKey: String
        let requested: Date
    }

    func run() async throws {
        let registry = try data.open()
        defer { registry.close() }
        let entries = try registry.pending().map {
            Entry(name: $0.name, identityKey: Base64URL.encode($0.identityKey.rawRepresentation), requested: $0.requested)
        }
        if json { return try Output.json(entries) }
        guard !entries.isEmpty else { return print("No pending registrations.") }
        Output.table(["NAME", "IDENTITY KEY", "REQUESTED"], entries.map { [$0.name, $0.identityKey, Output.date($0.requested)] })
    }
}
