import ArgumentParser
import Foundation
import ProtonDirectory
import ProtonServices

/// `proton serve sending|receiving`: runs one of the two relay services in the foreground.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a sending, receiving, directory or witness service.",
        discussion: """
            A receiving service holds ciphertexts for the addresses its owners register, until \
            they fetch them; its key (DIR/service-key) and database (DIR/receiving.sqlite) stay \
            in the data directory. A sending service keeps a durable outbox (DIR/sending.sqlite) \
            and forwards each sealed envelope to its receiving service, retrying with backoff; it \
            never learns the recipient's address.

            Once listening, the command prints one line, 'listening on http://HOST:PORT', to \
            standard output (with --listen HOST:0 the port is the one the system chose); logs go \
            to standard error. SIGINT or SIGTERM stops it gracefully. The API is in docs/api.md.

            An attesting directory (serve directory --namespace example.org [--policy \
            open|approve|allowlist]) signs name-to-key bindings and logs them in a transparency \
            log; its signing key (DIR/directory-key, 0600), names (DIR/directory.sqlite) and log \
            (DIR/log.sqlite) stay in the data directory. Clients pin the verifier key it prints at \
            start ("verifier key ..."). The operator approves and allows names with 'proton directory approve|allow \
            NAME --data DIR'.

            A witness (serve witness --name witness.example.org/w1 --log VKEY [--log VKEY ...]) \
            cosigns the checkpoints of the logs whose verifier keys it is given, each only if it \
            is consistent with the last one it cosigned for that log (c2sp.org/tlog-witness; \
            docs/directory.md, "Witnesses"). Its key (DIR/witness-key, 0600) and the latest \
            checkpoint of each log (DIR/witness.sqlite) stay in the data directory; it prints its \
            cosigner key at start ("witness key ...") for directories and clients to pin.
            """)

    /// The most witnesses a directory submits to: each cosignature line is about 130 bytes.
    static let maximumWitnesses = 12

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case sending, receiving, directory, witness
    }

    @Argument(help: "Which service: sending, receiving, directory or witness.")
    var kind: Kind

    @Option(help: "directory: the namespace whose names it attests, e.g. example.org (fixed for the data directory's life).")
    var namespace: String?

    @Option(help: "directory: who may register a name: open, approve (the operator approves) or allowlist.")
    var policy: DirectoryPolicy = .open

    @Flag(help: "directory: also vend key packages under each name's contact rules (a brokered directory).")
    var brokered = false

    @Option(
        name: .customLong("witness"),
        help: "directory: a witness to submit every checkpoint to, as URL=VKEY (its submission prefix and cosigner key; repeatable).")
    var witnesses: [String] = []

    @Option(help: "directory: how many of the witnesses must cosign a checkpoint before it is served (default: all of them).")
    var witnessQuorum: Int?

    @Option(help: "witness: its key name, a schema-less URL such as witness.example.org/w1.")
    var name: String?

    @Option(name: .customLong("log"), help: "witness: the verifier key of a log to witness (repeatable); its name is the log's origin.")
    var logs: [String] = []

    @Option(help: "Where to listen, HOST:PORT (port 0: any free port).")
    var listen: String = "127.0.0.1:8080"

    @Option(help: "The service's data directory (created 0700 if missing).")
    var data: String

    @Option(
        help: ArgumentHelp(
            "sending, receiving, directory: keep the data in this PostgreSQL database instead of SQLite in --data (default: $PROTON_DATABASE).",
            discussion: """
                postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require], or \
                postgres://USER@/DATABASE?host=SOCKETDIR for a Unix socket. Any number of instances \
                may share one database and act as one service (docs/deployment.md). TLS is required \
                unless the host is loopback or a socket. Give a password through PROTON_DATABASE \
                rather than here: other users can read a command line. A directory's key and \
                namespace stay in --data: copy DIR/directory-key and DIR/directory.json to every \
                instance.
                """,
            valueName: "url"))
    var database: String?

    @Option(
        help: ArgumentHelp(
            "sending, receiving, directory: also listen on HOST:PORT for the operator: GET /metrics (Prometheus), /health and /ready.",
            discussion: "Keep it off the public network (127.0.0.1 or a management network): the metrics say how busy the service is.",
            valueName: "host:port"))
    var adminListen: String?

    /// `--database`, else the environment's `PROTON_DATABASE`.
    private var databaseURL: String? {
        database ?? ProcessInfo.processInfo.environment["PROTON_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Flag(
        help: ArgumentHelp(
            "sending: also deliver to receiving services on loopback, private and link-local addresses.",
            discussion: "Off by default: a sending service on a server would otherwise let its clients reach its own network. For a demo or a test whose services all run on one machine."))
    var allowPrivateTargets = false

    @Flag(help: "Log every forwarding attempt and sweep (debug level).")
    var verbose = false

    /// For the fault-injection run (docs/reliability.md): the service's clock runs this many
    /// seconds off the system's, as a client's clock may be off the service's. A process's own
    /// clock cannot be moved here otherwise (libfaketime also moves the timers NIO and
    /// Dispatch arm, which then fire 10 minutes late).
    @Option(help: .hidden)
    var clockOffset: Int = 0

    func validate() throws {
        guard ListenAddress(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, for example 127.0.0.1:8080.") }
        if let adminListen {
            guard kind != .witness else { throw ValidationError("--admin-listen is for 'serve sending', 'serve receiving' and 'serve directory'.") }
            guard ListenAddress(adminListen) != nil else { throw ValidationError("--admin-listen must be HOST:PORT, for example 127.0.0.1:9090.") }
        }
        if let url = databaseURL {
            guard kind != .witness else {
                throw ValidationError("--database (or PROTON_DATABASE) is for 'serve sending', 'serve receiving' and 'serve directory'; a witness keeps SQLite in --data.")
            }
            guard PostgresLocation(url) != nil else {
                throw ValidationError("--database must be a postgres:// URL with a user and a database name (docs/deployment.md).")
            }
        }
        guard abs(clockOffset) <= 86_400 else { throw ValidationError("--clock-offset is at most a day either way.") }
        guard kind == .directory || namespace == nil else { throw ValidationError("--namespace is for 'serve directory' only.") }
        guard kind == .sending || !allowPrivateTargets else { throw ValidationError("--allow-private-targets is for 'serve sending' only.") }
        guard kind == .witness || (name == nil && logs.isEmpty) else { throw ValidationError("--name and --log are for 'serve witness' only.") }
        if kind == .witness {
            guard let name, NoteVerifier.isValidKeyName(name) else {
                throw ValidationError("'serve witness' needs --name, a key name such as witness.example.org/w1.")
            }
            guard !logs.isEmpty else { throw ValidationError("'serve witness' needs at least one --log VKEY, the verifier key of a log to witness.") }
            for log in logs {
                do { _ = try NoteVerifier(verifierKey: log) } catch { throw ValidationError("--log \(log) is not a verifier key: \(error).") }
            }
        }
        guard kind == .directory || (witnesses.isEmpty && witnessQuorum == nil) else {
            throw ValidationError("--witness and --witness-quorum are for 'serve directory' only.")
        }
        for witness in witnesses where WitnessEndpoint(witness) == nil {
            throw ValidationError("--witness \(witness) is not URL=VKEY (an http(s) URL and a witness's cosigner key).")
        }
        let endpoints = witnesses.compactMap(WitnessEndpoint.init)
        guard Set(endpoints.map(\.key.publicKey.rawRepresentation)).count == endpoints.count else {
            throw ValidationError("Each --witness must have a key of its own: one key would count twice towards the quorum.")
        }
        // A cosignature line per witness must fit the 2,048 bytes an attestation bundle allows
        // its checkpoint (docs/wire-format.md), next to the directory's own signature.
        guard endpoints.count <= Self.maximumWitnesses else { throw ValidationError("At most \(Self.maximumWitnesses) --witness options.") }
        if let namespace, endpoints.contains(where: { $0.key.name == DirectoryNames.origin(namespace: namespace) }) {
            throw ValidationError("A witness may not use the directory's own key name: its lines would be read as the directory's.")
        }
        let origins = logs.compactMap { try? NoteVerifier(verifierKey: $0).name }
        guard kind != .witness || Set(origins).count == logs.count else {
            throw ValidationError("Each --log must be a log of its own origin.")
        }
        if let witnessQuorum, !(1...max(1, witnesses.count)).contains(witnessQuorum) || witnesses.isEmpty {
            throw ValidationError("--witness-quorum must be between 1 and the number of --witness options.")
        }
        if kind == .directory {
            guard let namespace, DirectoryNames.isValidNamespace(namespace) else {
                throw ValidationError("'serve directory' needs --namespace, a lowercase domain such as example.org.")
            }
        }
    }

    func run() async throws {
        guard let address = ListenAddress(listen) else { throw ValidationError("--listen must be HOST:PORT.") }
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        let logger = ServiceLogging.standardError(label: "proton.\(kind.rawValue)", level: verbose ? .debug : .info)
        let offset = TimeInterval(clockOffset)
        let now: @Sendable () -> Date = { Date().addingTimeInterval(offset) }
        let postgres = databaseURL.flatMap(PostgresLocation.init)
        let running: RunningService
        do {
            switch kind {
            case .receiving:
                running = try await ReceivingService.start(
                    configuration: ReceivingServiceConfiguration(
                        listen: address, dataDirectory: directory, logger: logger, now: now, database: postgres,
                        adminListen: adminListen.flatMap(ListenAddress.init)),
                    handlesSignals: true)
            case .sending:
                running = try await SendingService.start(
                    configuration: SendingServiceConfiguration(
                        listen: address, dataDirectory: directory, forwarding: ForwardingPolicy(allowsPrivateTargets: allowPrivateTargets),
                        logger: logger, now: now, database: postgres, adminListen: adminListen.flatMap(ListenAddress.init)),
                    handlesSignals: true)
            case .directory:
                var configuration = DirectoryServiceConfiguration(
                    namespace: namespace ?? "", policy: policy, listen: address, dataDirectory: directory, brokered: brokered,
                    logger: logger, now: now, database: postgres, adminListen: adminListen.flatMap(ListenAddress.init))
                configuration.witnesses = witnesses.compactMap(WitnessEndpoint.init)
                configuration.witnessQuorum = witnessQuorum ?? witnesses.count
                running = try await DirectoryService.start(configuration: configuration, handlesSignals: true)
            case .witness:
                running = try await WitnessService.start(
                    configuration: WitnessServiceConfiguration(
                        listen: address, dataDirectory: directory, name: name ?? "", logs: try logs.map { try NoteVerifier(verifierKey: $0) },
                        logger: logger, now: now),
                    handlesSignals: true)
            }
        } catch let error as DataDirectoryError {
            throw CommandFailure(status: .cannotCreate, message: error.description)
        } catch let error as ServiceDatabaseError {
            throw CommandFailure(status: .dataError, message: error.description)
        } catch let error as PostgresDatabaseError {
            throw CommandFailure(status: .unavailable, message: error.description)
        } catch {
            throw CommandFailure(status: .unavailable, message: "The \(kind.rawValue) service could not listen on \(listen): \(error).")
        }
        let host = address.host.contains(":") ? "[\(address.host)]" : address.host
        FileHandle.standardOutput.write(Data("listening on http://\(host):\(running.port)\n".utf8))
        if let adminPort = running.adminPort, let admin = adminListen.flatMap(ListenAddress.init) {
            let adminHost = admin.host.contains(":") ? "[\(admin.host)]" : admin.host
            FileHandle.standardOutput.write(Data("admin on http://\(adminHost):\(adminPort)\n".utf8))
        }
        if kind == .directory, let key = try? DirectoryRegistry.verifierKey(dataDirectory: directory) {
            FileHandle.standardOutput.write(Data("verifier key \(key)\n".utf8))
        }
        if kind == .witness, let key = try? WitnessService.cosigner(dataDirectory: directory, name: name ?? "").verifier.verifierKey {
            FileHandle.standardOutput.write(Data("witness key \(key)\n".utf8))
        }
        do { try await running.wait() } catch {
            throw CommandFailure(status: .ioError, message: "\(error)")
        }
    }
}

extension DirectoryPolicy: ExpressibleByArgument {}
