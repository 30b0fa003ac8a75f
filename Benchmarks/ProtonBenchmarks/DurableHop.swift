import Benchmark
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ProtonServices

// The fair limit for a durable relay: a bare Hummingbird endpoint that stores each request body
// durably before its 202, driven like the end-to-end rows (docs/performance.md, "The durable
// hop"). On SQLite it commits as the services do (WAL, `synchronous = FULL`, group commit); on
// PostgreSQL one INSERT per request with `synchronous_commit = on` (the server groups the WAL
// flushes of concurrent commits).

/// The throw-away cluster `scripts/postgres run` starts (`PROTON_TEST_DATABASE`).
enum BenchmarkPostgres {
    static var cluster: PostgresLocation? {
        ProcessInfo.processInfo.environment["PROTON_TEST_DATABASE"].flatMap(PostgresLocation.init)
    }

    static var isAvailable: Bool { cluster != nil }

    static func configuration(_ location: PostgresLocation) -> PostgresClient.Configuration {
        guard case .unixSocket(let directory, let port) = location.endpoint else { fatalError("the benchmarks' cluster is on a socket") }
        var configuration = PostgresClient.Configuration(
            unixSocketPath: directory + "/.s.PGSQL.\(port)", username: location.username, password: location.password,
            database: location.database)
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        configuration.options.maximumConnections = 16
        return configuration
    }

    /// A new database in the cluster.
    static func newDatabase() async throws -> PostgresLocation {
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
final class DurableEndpoint: @unchecked Sendable {
    let url: String
    private let task: Task<Void, any Error>
    private let background: Task<Void, Never>?

    init(postgres: Bool) async throws {
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

func registerDurableHopBenchmarks() {
    var variants: [(name: String, postgres: Bool)] = [("SQLite, synchronous = FULL, group commit", false)]
    if BenchmarkPostgres.isAvailable { variants.append(("PostgreSQL, synchronous_commit = on", true)) }
    for variant in variants {
        let state = Box<(DurableEndpoint, [[UInt8]])?>(nil)
        Benchmark(
            "Durable bare POST /v1/send → commit → 202 (same bodies, \(serviceConcurrency) in flight) [\(variant.name)]",
            configuration: serviceConfiguration()
        ) { benchmark async throws in
            let endpoint: DurableEndpoint
            let bodies: [[UInt8]]
            if let existing = state.value { (endpoint, bodies) = existing } else {
                endpoint = try await DurableEndpoint(postgres: variant.postgres)
                bodies = try throwawayBodies(benchmark.scaledIterations.count)
                state.value = (endpoint, bodies)
            }
            benchmark.startMeasurement()
            try await postAll(bodies, to: endpoint.url)
            benchmark.stopMeasurement()
        }
    }
}
