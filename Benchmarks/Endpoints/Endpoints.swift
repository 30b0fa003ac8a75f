// What the services benchmarks (ProtonBenchmarks) and the profiling driver (ReceivingMemory)
// both start: bare Hummingbird endpoints on loopback, the durable one on SQLite or PostgreSQL,
// and the benchmark cluster's databases.
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ProtonServices

public enum ServiceBenchmarkError: Error { case status(Int), timedOut }

public func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

/// A Hummingbird 2 server on loopback whose `POST /v1/send` reads the body, hands it to
/// `handle` and answers 202: the endpoint's URL, and the task that runs it.
public func startSendEndpoint(serverName: String, handle: @escaping @Sendable (ByteBuffer) async throws -> Void) async -> (
    url: String, task: Task<Void, any Error>
) {
    let router = Router()
    router.post("/v1/send") { request, _ -> Response in
        try await handle(try await request.body.collect(upTo: 1 << 20))
        return Response(status: .accepted)
    }
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let application = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: serverName),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
        logger: quietLogger("bench.\(serverName)"))
    let task = Task { try await application.runService(gracefulShutdownSignals: []) }
    var port = 0
    for await bound in ports {
        port = bound
        break
    }
    return ("http://127.0.0.1:\(port)/v1/send", task)
}

/// The throw-away cluster `scripts/postgres run` starts (`PROTON_TEST_DATABASE`).
public enum BenchmarkPostgres {
    public static var cluster: PostgresLocation? {
        ProcessInfo.processInfo.environment["PROTON_TEST_DATABASE"].flatMap(PostgresLocation.init)
    }

    public static var isAvailable: Bool { cluster != nil }

    public static func configuration(_ location: PostgresLocation) -> PostgresClient.Configuration {
        guard case .unixSocket(let directory, let port) = location.endpoint else { fatalError("the benchmarks' cluster is on a socket") }
        var configuration = PostgresClient.Configuration(
            unixSocketPath: directory + "/.s.PGSQL.\(port)", username: location.username, password: location.password,
            database: location.database)
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        configuration.options.maximumConnections = 16
        return configuration
    }

    /// A new database in the cluster.
    public static func newDatabase() async throws -> PostgresLocation {
        guard var location = cluster else { throw ServiceBenchmarkError.status(0) }
        let name = "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let client = PostgresClient(configuration: configuration(location))
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        location.database = name
        return location
    }
}

/// `POST /v1/send` → the body committed durably → 202.
public final class DurableEndpoint: @unchecked Sendable {
    public let url: String
    private let task: Task<Void, any Error>
    private let background: Task<Void, Never>?

    public init(postgres: Bool) async throws {
        let store: @Sendable ([UInt8]) async throws -> Void
        if postgres {
            let client = PostgresClient(configuration: BenchmarkPostgres.configuration(try await BenchmarkPostgres.newDatabase()))
            background = Task { await client.run() }
            try await client.query("CREATE TABLE body (id BIGSERIAL PRIMARY KEY, bytes BYTEA NOT NULL)")
            store = { body in try await client.query("INSERT INTO body (bytes) VALUES (\(ByteBuffer(bytes: body)))") }
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-bench-durable-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let pool = try DatabasePool(path: directory.appendingPathComponent("bodies.sqlite").path)
            try await pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try await pool.write { db in try db.execute(sql: "CREATE TABLE body (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)") }
            let commits = GroupCommit<[UInt8], Void> { bodies in
                try await pool.write { db in
                    let insert = try db.cachedStatement(sql: "INSERT INTO body (bytes) VALUES (?)")
                    for body in bodies { try insert.execute(arguments: [Data(body)]) }
                }
                return bodies.map { _ in () }
            }
            background = nil
            store = { body in try await commits.submit(body) }
        }
        (url, task) = await startSendEndpoint(serverName: "durable") { body in try await store(Array(body.readableBytesView)) }
    }
}
