import Foundation
import Hummingbird
import Logging
import NIOCore
import ProtonCrypto
import ProtonDirectory

/// How a witness runs: where it listens and keeps its data, its name, and the logs it
/// witnesses (each by its verifier key; the key's name is the log's origin).
public struct WitnessServiceConfiguration: Sendable {
    public var listen: ListenAddress
    public var dataDirectory: URL
    /// The witness's key name, a schema-less URL such as `witness.example.org/w1`.
    public var name: String
    public var logs: [NoteVerifier]
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(
        listen: ListenAddress, dataDirectory: URL, name: String, logs: [NoteVerifier], logger: Logger = Logger(label: "proton.witness"),
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.name = name
        self.logs = logs
        self.logger = logger
        self.now = now
    }
}

/// A transparency log witness (c2sp.org/tlog-witness): `POST /add-checkpoint` verifies a
/// checkpoint of a configured log and its consistency with the latest one it cosigned for that
/// log, records it, and answers with its `cosignature/v1` line (c2sp.org/tlog-cosignature).
/// Its key is kept in `DIR/witness-key` (an Ed25519 seed, 0600), its state in
/// `DIR/witness.sqlite`.
public enum WitnessService {
    public static let keyFileName = "witness-key"
    /// The cosigning key in `dataDirectory`, created on first use.
    public static func cosigner(dataDirectory: URL, name: String) throws -> Cosigner {
        try DataDirectory.prepare(dataDirectory)
        return try Cosigner(name: name, key: DirectoryDataFiles.loadOrCreateSeed(in: dataDirectory, fileName: keyFileName))
    }

    public static func start(configuration: WitnessServiceConfiguration, handlesSignals: Bool = false) async throws -> RunningService {
        let cosigner = try cosigner(dataDirectory: configuration.dataDirectory, name: configuration.name)
        let ledger = try WitnessLedger(dataDirectory: configuration.dataDirectory)
        return try await RunningService.launch(
            host: configuration.listen.host, handlesSignals: handlesSignals, logger: configuration.logger, cleanup: { ledger.close() }
        ) { onServerRunning in
            [makeApplication(configuration: configuration, cosigner: cosigner, ledger: ledger, onServerRunning: onServerRunning)]
        }
    }

    public static func makeApplication(
        configuration: WitnessServiceConfiguration, cosigner: Cosigner, ledger: WitnessLedger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ErrorMiddleware(logger: configuration.logger))
        let logs = Dictionary(configuration.logs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let now = configuration.now
        let logger = configuration.logger
        router.post("/add-checkpoint") { request, _ -> Response in
            var request = request
            let body = try await request.collectBytes(limit: AddCheckpointRequest.maximumByteCount)
            do {
                let submission = try AddCheckpointRequest(parsing: body)
                let checkpoint = try WitnessRules.authenticate(submission, logs: logs)
                let time = now()
                try ledger.advance(submission, checkpoint: checkpoint, now: time)
                let line = cosigner.cosign(checkpointText: submission.note.text, timestamp: UInt64(max(0, time.timeIntervalSince1970))).line
                return Self.text(.ok, line)
            } catch let refusal as WitnessRefusal {
                logger.info("refused a checkpoint: \(refusal)")
                if let latest = refusal.latestSize {
                    return Self.text(.conflict, "\(latest)\n", contentType: "text/x.tlog.size")
                }
                return Self.text(HTTPResponse.Status(code: refusal.status), refusal.description + "\n")
            }
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: "proton-witness"),
            onServerRunning: onServerRunning, logger: configuration.logger)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
