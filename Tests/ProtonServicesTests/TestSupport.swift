import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// A fresh directory under the system's temporary directory.
func temporaryDirectory(_ name: String = "services") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("proton-\(name)-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Where a service under test keeps its data: the embedded SQLite file, or a fresh database of
/// the throw-away PostgreSQL cluster that `make test` starts (`scripts/postgres run`). Suites
/// that run over both take `StorageBackend.allCases` as arguments.
enum StorageBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A database for a service under test: `database` if given (a second instance, or a
    /// restart, on the same data), else a new one; nil for SQLite.
    func database(_ database: PostgresLocation? = nil) async throws -> PostgresLocation? {
        guard self == .postgres else { return nil }
        if let database { return database }
        return try await TestPostgres.newDatabase()
    }

    func sendingStorage(directory: URL, database: PostgresLocation?, claimLease: TimeInterval = 120) async throws -> any SendingStorage {
        if let database { return try await PostgresSendingStorage.open(database, claimLease: claimLease) }
        return try SQLiteSendingStorage(directory: directory)
    }

    /// `database` names an existing database (a second instance on the same data); nil: a new one.
    func receivingStorage(directory: URL, database: PostgresLocation? = nil) async throws -> any ReceivingStorage {
        switch self {
        case .sqlite: try SQLiteReceivingStorage(directory: directory)
        case .postgres:
            if let database {
                try await PostgresReceivingStorage.open(database)
            } else {
                try await PostgresReceivingStorage.open(TestPostgres.newDatabase())
            }
        }
    }
}

/// Fresh databases in the cluster named by `PROTON_TEST_DATABASE`.
enum TestPostgres {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "PROTON_TEST_DATABASE is not set: run the suite with `make test`, or as `scripts/postgres run swift test`, which start a throw-away PostgreSQL cluster."
        }
    }

    static var cluster: PostgresLocation {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["PROTON_TEST_DATABASE"], let location = PostgresLocation(url) else {
                throw Missing()
            }
            return location
        }
    }

    /// A new, empty database of its own for one test.
    static func newDatabase() async throws -> PostgresLocation {
        var location = try cluster
        let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresAdministration.createDatabase(name, at: location)
        location.database = name
        return location
    }
}

/// A clock tests move by hand; the services read it through their `now` closure.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset: TimeInterval = 0

    func now() -> Date { lock.withLock { Date().addingTimeInterval(offset) } }
    func advance(by seconds: TimeInterval) { lock.withLock { offset += seconds } }
}

/// An answer: status and body bytes.
struct HTTPAnswer {
    let status: Int
    let body: [UInt8]
    var server = ""

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body)) }
    var errorCode: String? { (try? decode(ServiceAPI.ErrorBody.self))?.code }
}

/// Real HTTP over loopback.
enum HTTP {
    static func request(
        _ method: String, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = [], timeout: TimeInterval = 30
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout)))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        var answer = HTTPAnswer(status: Int(response.status.code), body: Array(bytes.readableBytesView))
        answer.server = response.headers["Server"].joined()
        return answer
    }

    /// Makes the request again while it is answered 503 (a service on PostgreSQL past its
    /// 10 s deadline on a loaded machine), as a client does, for up to `total` seconds; a
    /// resent delivery is a replay (200), and `request` signs each attempt anew.
    static func resendingWhileUnavailable(for total: TimeInterval = 300, _ request: () async throws -> HTTPAnswer) async throws -> HTTPAnswer {
        let deadline = Date().addingTimeInterval(total)
        while true {
            let answer = try await request()
            guard answer.status == 503, Date() < deadline else { return answer }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Sorted keys: a body is signed and then sent, and both must be the same bytes.
    static func json(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try! encoder.encode(value))
    }
}

/// The owner of one address: its id and auth key, and how it signs requests.
struct Owner {
    let owned = OwnedAddress(random: SystemRandom())
    var id: AddressID { owned.id }
    var pathID: String { Base64URL.encode(owned.id.bytes) }

    func headers(_ method: String, _ pathAndQuery: String, body: [UInt8] = [], now: Date = Date(), key: Ed25519.PrivateKey? = nil)
        -> [(String, String)]
    {
        let signature = RequestSignature.sign(
            method: method, pathAndQuery: pathAndQuery, body: body, key: key ?? owned.authKey, now: now, random: SystemRandom())
        return signature.headers.map { ($0.name, $0.value) }
    }

    var createBody: [UInt8] {
        HTTP.json(ServiceAPI.CreateAddress(address: pathID, authKey: Base64URL.encode(owned.authKey.publicKey.rawRepresentation)))
    }
}

/// A receiving service on a loopback port, with its storage at hand for counting rows.
struct ReceivingFixture {
    let directory: URL
    let storage: any ReceivingStorage
    /// The PostgreSQL database, for a second instance or a restart on the same data.
    let database: PostgresLocation?
    let running: RunningService
    let serviceKey: SealedBox.PublicKey
    let clock: TestClock
    /// One element each time a fetch starts waiting for a delivery.
    let longPollWaits: AsyncStream<AddressID>

    var url: String { running.baseURL }

    /// Returns once a fetch is waiting at the service (a long-poll), the event the service
    /// reports, not a guessed delay.
    func longPollWaiting() async {
        var waits = longPollWaits.makeAsyncIterator()
        _ = await waits.next()
    }

    static func start(
        backend: StorageBackend = .sqlite, directory: URL = temporaryDirectory("receiving"), port: Int = 0,
        limits: ReceivingServiceLimits = ReceivingServiceLimits(), sweepInterval: TimeInterval = 60, clock: TestClock = TestClock(),
        database: PostgresLocation? = nil, storage opened: (any ReceivingStorage)? = nil
    ) async throws -> ReceivingFixture {
        let database = try await backend.database(database)
        let storage: any ReceivingStorage
        if let opened { storage = opened } else { storage = try await backend.receivingStorage(directory: directory, database: database) }
        let (waits, waiting) = AsyncStream.makeStream(of: AddressID.self)
        let configuration = ReceivingServiceConfiguration(
            listen: ListenAddress(host: "127.0.0.1", port: port), dataDirectory: directory, limits: limits, sweepInterval: sweepInterval,
            now: { clock.now() }, onLongPollWaiting: { waiting.yield($0) })
        let running = try await ReceivingService.start(configuration: configuration, storage: storage)
        let info = try await HTTP.request("GET", running.baseURL + "/v1/info").decode(ServiceAPI.ServiceInfo.self)
        let key = try SealedBox.PublicKey(rawRepresentation: Base64URL.decode(info.publicKey, limit: 32))
        return ReceivingFixture(
            directory: directory, storage: storage, database: database, running: running, serviceKey: key, clock: clock, longPollWaits: waits)
    }

    func stop() async { await running.stop() }

    /// Registers `owner`'s address; returns the status.
    @discardableResult
    func create(_ owner: Owner) async throws -> Int {
        let answer = try await HTTP.request(
            "POST", url + "/v1/addresses", body: owner.createBody,
            headers: owner.headers("POST", "/v1/addresses", body: owner.createBody, now: clock.now()))
        return answer.status
    }

    func sealed(_ address: AddressID, ciphertext: [UInt8] = Array("hello".utf8)) throws -> Envelope {
        try Envelope(sealing: ciphertext, to: Route(serviceURI: url, serviceKey: serviceKey, address: address), random: SystemRandom())
    }

    func delivery(_ address: AddressID, ciphertext: [UInt8] = Array("hello".utf8)) throws -> [UInt8] {
        let envelope = try sealed(address, ciphertext: ciphertext)
        return HTTP.json(
            ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
    }

    func deliver(_ address: AddressID, ciphertext: [UInt8] = Array("hello".utf8)) async throws -> HTTPAnswer {
        try await HTTP.request("POST", url + "/v1/deliver", body: delivery(address, ciphertext: ciphertext))
    }

    func fetch(_ owner: Owner, after: Int64 = 0, wait: Int = 0) async throws -> HTTPAnswer {
        let path = "/v1/addresses/\(owner.pathID)/messages?after=\(after)&wait=\(wait)"
        return try await HTTP.request("GET", url + path, headers: owner.headers("GET", path, now: clock.now()), timeout: TimeInterval(wait + 30))
    }

    func acknowledge(_ owner: Owner, upTo: Int64) async throws -> HTTPAnswer {
        let path = "/v1/addresses/\(owner.pathID)/ack"
        let body = HTTP.json(ServiceAPI.Acknowledge(upTo: upTo))
        return try await HTTP.request("POST", url + path, body: body, headers: owner.headers("POST", path, body: body, now: clock.now()))
    }

    func retire(_ owner: Owner) async throws -> HTTPAnswer {
        let path = "/v1/addresses/\(owner.pathID)"
        return try await HTTP.request("DELETE", url + path, headers: owner.headers("DELETE", path, now: clock.now()))
    }
}

/// Every log line, as text, for tests that search logs for what must not be there.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var text: String { lock.withLock { lines.joined(separator: "\n") } }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    func logger(label: String) -> Logger {
        var logger = Logger(label: label) { label in CapturingHandler(label: label, capture: self) }
        logger.logLevel = .trace
        return logger
    }

    private struct CapturingHandler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(label) \(event.message) \(merged) \(event.source) \(event.file):\(event.line)")
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: TimeInterval = 20, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
