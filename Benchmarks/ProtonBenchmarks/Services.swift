import AsyncHTTPClient
import BenchmarkEndpoints
import Benchmark
import Foundation
import Hummingbird
import Logging
import NIOCore
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices

// End to end through the real services, and a bare Hummingbird endpoint beside it, in the same
// run (docs/performance.md, "Services on loopback").

/// Envelopes per sample (the `.kilo` scaling factor: the wall-clock row reads time per message,
/// and the throughput row thousands of messages/s — which the harness leaves out when it rounds
/// to 0 K, so read the rate from the wall-clock row), and how many POSTs are in flight at once.
let serviceBatch = 1_000
let serviceConcurrency = 16
/// What a 1 KiB message is once the ratchet has padded it to its 1,280-byte bucket and added its
/// header and tags (the exact figure matters less than using the same one for both benchmarks).
let serviceCiphertextByteCount = 1_360

/// One HTTP client for both benchmarks, with room for every request in flight.
let benchmarkHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: serviceConcurrency)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// POSTs every body to `url` with `serviceConcurrency` requests in flight; each must answer 202.
func postAll(_ bodies: [[UInt8]], to url: String) async throws {
    try await postAll(bodies, to: [url])
}

/// The same, the bodies spread over `urls` in turn (instances of one service).
func postAll(_ bodies: [[UInt8]], to urls: [String]) async throws {
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
func makeSendBodies(_ count: Int, to route: Route) throws -> [[UInt8]] {
    try makeSendBodies(count, to: [route])
}

/// The same, to `routes` in turn (one address at several instances of a receiving service).
func makeSendBodies(_ count: Int, to routes: [Route]) throws -> [[UInt8]] {
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
final class EndToEnd: @unchecked Sendable {
    let receiving: [RunningService]
    let sending: [RunningService]
    let owner: OwnedAddress
    let client: ReceivingServiceClient
    let routes: [Route]
    let sendURLs: [String]
    /// The last message id fetched: the next fetch starts after it.
    var cursor: Int64 = 0

    init(postgres: Bool = false, instances: Int = 1) async throws {
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
    func run(_ bodies: [[UInt8]]) async throws {
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
final class BareEndpoint: @unchecked Sendable {
    let url: String
    let task: Task<Void, any Error>

    init() async throws {
        (url, task) = await startSendEndpoint(serverName: "bare") { body in _ = body.readableBytes }
    }
}

/// Throughput and time per message, and the process's CPU time per message (user + system,
/// every thread: client, services and the database library alike), which a shared machine's
/// load moves much less than the wall clock.
func serviceConfiguration() -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .wallClock, .cpuTotal],
        units: [.throughput: .count],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 1_000
    )
}

func registerServiceBenchmarks() {
    // End to end on SQLite (the embedded default), on PostgreSQL, and on PostgreSQL with two
    // instances of each service; the PostgreSQL rows run when the cluster of `scripts/postgres
    // run` is there (`make bench` starts one).
    var variants: [(name: String, postgres: Bool, instances: Int)] = [("", false, 1)]
    if BenchmarkPostgres.isAvailable {
        variants += [(" [PostgreSQL]", true, 1), (" [PostgreSQL, 2 instances of each]", true, 2)]
    }
    for variant in variants {
        let endToEnd = Box<EndToEnd?>(nil)
        Benchmark(
            "End to end: POST /v1/send → sending → receiving → fetch + ack (1 KiB msgs, \(serviceConcurrency) in flight)\(variant.name)",
            configuration: serviceConfiguration()
        ) { benchmark async throws in
            let state: EndToEnd
            if let existing = endToEnd.value {
                state = existing
            } else {
                state = try await EndToEnd(postgres: variant.postgres, instances: variant.instances)
                endToEnd.value = state
            }
            // Sealed before the clock starts: the sender's sealing is not what is measured.
            let bodies = try makeSendBodies(benchmark.scaledIterations.count, to: state.routes)
            benchmark.startMeasurement()
            try await state.run(bodies)
            benchmark.stopMeasurement()
        }
    }

    let bare = Box<(BareEndpoint, [[UInt8]])?>(nil)
    Benchmark(
        "Bare Hummingbird POST /v1/send → 202 (same bodies, \(serviceConcurrency) in flight)",
        configuration: serviceConfiguration()
    ) { benchmark async throws in
        let endpoint: BareEndpoint
        let bodies: [[UInt8]]
        if let existing = bare.value { (endpoint, bodies) = existing } else {
            endpoint = try await BareEndpoint()
            bodies = try throwawayBodies(benchmark.scaledIterations.count)
            bare.value = (endpoint, bodies)
        }
        benchmark.startMeasurement()
        try await postAll(bodies, to: endpoint.url)
        benchmark.stopMeasurement()
    }

    registerDurableHopBenchmarks()
}

/// `POST /v1/send` bodies of the end-to-end size, sealed to a throwaway route.
func throwawayBodies(_ count: Int) throws -> [[UInt8]] {
    let random = SystemRandom()
    let route = try Route(
        serviceURI: "http://127.0.0.1:65535", serviceKey: SealedBox.PrivateKey(using: random).publicKey, address: AddressID(random: random))
    return try makeSendBodies(count, to: route)
}
