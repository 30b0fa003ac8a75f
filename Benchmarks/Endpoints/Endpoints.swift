// What the services benchmarks (ProtonBenchmarks) and the profiling driver (ReceivingMemory)
// both use: the end-to-end path through the real services, bare Hummingbird endpoints on
// loopback (the durable one on SQLite or PostgreSQL), the client that drives them, the bodies,
// and the benchmark cluster's databases.
import AsyncHTTPClient
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ProtonAgents
import ProtonCore
import ProtonCrypto
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

/// Envelopes per sample (the `.kilo` scaling factor: the wall-clock row reads time per message,
/// and the throughput row thousands of messages/s — which the harness leaves out when it rounds
/// to 0 K, so read the rate from the wall-clock row), and how many POSTs are in flight at once.
public let serviceBatch = 1_000
public let serviceConcurrency = 16
/// What a 1 KiB message is once the ratchet has padded it to its 1,280-byte bucket and added its
/// header and tags (the exact figure matters less than using the same one for both benchmarks).
public let serviceCiphertextByteCount = 1_360

/// One HTTP client for both benchmarks, with room for every request in flight.
public let benchmarkHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: serviceConcurrency)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// POSTs every body to `url` with `serviceConcurrency` requests in flight; each must answer 202.
public func postAll(_ bodies: [[UInt8]], to url: String) async throws {
    try await postAll(bodies, to: [url])
}

/// The same, the bodies spread over `urls` in turn (instances of one service).
public func postAll(_ bodies: [[UInt8]], to urls: [String]) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        func add() {
            let body = bodies[next]
            let url = urls[next % urls.count]
            next += 1
            group.addTask {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await benchmarkHTTPClient.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 64 * 1024)
                guard response.status.code == 202 else { throw ServiceBenchmarkError.status(Int(response.status.code)) }
            }
        }
        for _ in 0..<min(serviceConcurrency, bodies.count) { add() }
        while try await group.next() != nil {
            if next < bodies.count { add() }
        }
    }
}

/// `count` `POST /v1/send` bodies, each a freshly sealed envelope to `route`.
public func makeSendBodies(_ count: Int, to route: Route) throws -> [[UInt8]] {
    try makeSendBodies(count, to: [route])
}

/// The same, to `routes` in turn (one address at several instances of a receiving service).
public func makeSendBodies(_ count: Int, to routes: [Route]) throws -> [[UInt8]] {
    let random = SystemRandom()
    let encoder = JSONEncoder()
    return try (0..<count).map { index in
        let route = routes[index % routes.count]
        let envelope = try Envelope(sealing: random.bytes(serviceCiphertextByteCount), to: route, random: random)
        return Array(
            try encoder.encode(
                ServiceAPI.Send(
                    receivingService: route.serviceURI, serviceKey: Base64URL.encode(route.serviceKey.rawRepresentation),
                    sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext))))
    }
}

/// A receiving service and a sending service on loopback, and one address at the receiving
/// service: on SQLite in a temporary directory, or each service on a database of its own in the
/// throw-away PostgreSQL cluster, with `instances` instances of each (two share a data
/// directory, so the receiving instances share a key). The sends are spread over the sending
/// instances, the routes over the receiving ones; the owner fetches at the first.
public final class EndToEnd: @unchecked Sendable {
    public let receiving: [RunningService]
    public let sending: [RunningService]
    public let owner: OwnedAddress
    public let client: ReceivingServiceClient
    public let routes: [Route]
    public let sendURLs: [String]
    /// The last message id fetched: the next fetch starts after it.
    public var cursor: Int64 = 0

    public init(postgres: Bool = false, instances: Int = 1) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-bench-\(UUID().uuidString)")
        let receivingDirectory = directory.appendingPathComponent("receiving")
        let sendingDirectory = directory.appendingPathComponent("sending")
        try FileManager.default.createDirectory(at: receivingDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: sendingDirectory, withIntermediateDirectories: true)
        let receivingDatabase = postgres ? try await BenchmarkPostgres.newDatabase() : nil
        let sendingDatabase = postgres ? try await BenchmarkPostgres.newDatabase() : nil
        var receiving: [RunningService] = []
        var sending: [RunningService] = []
        for _ in 0..<instances {
            receiving.append(
                try await ReceivingService.start(
                    configuration: ReceivingServiceConfiguration(
                        dataDirectory: receivingDirectory,
                        limits: ReceivingServiceLimits(maximumMessagesPerAddress: 10_000_000, maximumBytesPerAddress: 1 << 40),
                        logger: quietLogger("bench.receiving"), database: receivingDatabase)))
            sending.append(
                try await SendingService.start(
                    configuration: SendingServiceConfiguration(
                        dataDirectory: sendingDirectory, forwarding: ForwardingPolicy(allowsPrivateTargets: true), sendRateLimit: .unlimited,
                        logger: quietLogger("bench.sending"), database: sendingDatabase)))
        }
        self.receiving = receiving
        self.sending = sending
        client = ReceivingServiceClient(serviceURI: receiving[0].baseURL, client: benchmarkHTTPClient)
        let owner = OwnedAddress(random: SystemRandom())
        self.owner = owner
        try await client.createAddress(owner)
        let key = try await client.serviceKey()
        routes = try receiving.map { try Route(serviceURI: $0.baseURL, serviceKey: key, address: owner.id) }
        sendURLs = sending.map { $0.baseURL + "/v1/send" }
    }

    /// Sends every body through the sending service, then fetches until all have arrived and
    /// acknowledges them.
    public func run(_ bodies: [[UInt8]]) async throws {
        try await postAll(bodies, to: sendURLs)
        var received = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while received < bodies.count {
            guard ContinuousClock.now < deadline else { throw ServiceBenchmarkError.timedOut }
            let messages = try await client.fetch(owner, after: cursor, wait: 5)
            guard let last = messages.last else { continue }
            received += messages.count
            cursor = last.id
        }
        precondition(received == bodies.count, "received \(received) of \(bodies.count)")
        try await client.acknowledge(owner, upTo: cursor)
    }
}

/// A trivial Hummingbird 2 server: `POST /v1/send` reads the body and answers 202.
public final class BareEndpoint: @unchecked Sendable {
    public let url: String
    public let task: Task<Void, any Error>

    public init() async throws {
        (url, task) = await startSendEndpoint(serverName: "bare") { body in _ = body.readableBytes }
    }
}

/// `POST /v1/send` bodies of the end-to-end size, sealed to a throwaway route.
public func throwawayBodies(_ count: Int) throws -> [[UInt8]] {
    let random = SystemRandom()
    let route = try Route(
        serviceURI: "http://127.0.0.1:65535", serviceKey: SealedBox.PrivateKey(using: random).publicKey, address: AddressID(random: random))
    return try makeSendBodies(count, to: route)
}
