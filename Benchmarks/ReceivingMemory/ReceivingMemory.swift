// The receiving service's resident memory as its queue grows to 1,000,000 messages.
//
// A receiving service runs in this process on loopback (SQLite in a temporary directory). Its
// database is filled with the rows `SQLiteReceivingStorage.deliver` writes (a message row and
// the address's counters), 10,000 messages per transaction through a second GRDB connection to
// the same file: the storage API commits (and syncs) one transaction per message when
// deliveries come one at a time (about 3,400 messages/s here even before `synchronous = FULL`),
// so a million would take minutes of the benchmark budget, and the HTTP API is slower still. At 0, 250k, 500k, 750k and 1M queued messages the process's resident memory
// (VmRSS) is read, and the service must still answer over HTTP: one sealed delivery to a second
// address, an owner-signed fetch and acknowledgement of it, and an owner-signed fetch of the
// first page of the full address. Run by `make bench` after the benchmarks.
//
// With PROTON_MEMORY_BACKEND=postgres the service runs on PostgreSQL instead (a new database in
// the cluster `scripts/postgres run` starts), filled the same way through a connection of its
// own: the rows `PostgresReceivingStorage` writes, 10,000 per INSERT.
import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import NIOCore
import ProtonAgents
import ProtonCore
import ProtonCrypto
import PostgresNIO
import ProtonServices

let total = Int(ProcessInfo.processInfo.environment["PROTON_MEMORY_MESSAGES"] ?? "") ?? 1_000_000
let checkpoints = (0...4).map { total * $0 / 4 }
let ciphertextByteCount = 1_360
let rowsPerTransaction = 10_000

func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
    return -1
}

func megabytes(_ kib: Int) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }

func milliseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return String(format: "%.1f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
}

@main
enum ReceivingMemory {
    static func main() async throws {
        if let rounds = ProcessInfo.processInfo.environment["PROTON_ALTERNATE"].flatMap({ Int($0) }) {
            try await Alternation.run(rounds: rounds)
            return
        }
        if let profile = ProcessInfo.processInfo.environment["PROTON_PROFILE_END_TO_END"].flatMap({ Int($0) }) {
            try await EndToEndProfile.run(count: profile)
            return
        }
        if let checkpoints = ProcessInfo.processInfo.environment["PROTON_WITNESS_CHECKPOINTS"].flatMap({ Int($0) }) {
            try await WitnessMemory.run(checkpoints: checkpoints)
            return
        }
        var logger = Logger(label: "bench.receiving")
        logger.logLevel = .warning

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let limits = ReceivingServiceLimits(maximumMessagesPerAddress: 10_000_000, maximumBytesPerAddress: 1 << 40)
        let postgres = try await ProcessInfo.processInfo.environment["PROTON_MEMORY_BACKEND"] == "postgres" ? PostgresFiller.newDatabase() : nil
        let storage: any ReceivingStorage =
            if let postgres { try await PostgresReceivingStorage.open(postgres, logger: logger) } else {
                try SQLiteReceivingStorage(directory: directory)
            }
        let service = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(dataDirectory: directory, limits: limits, logger: logger), storage: storage)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = ReceivingServiceClient(serviceURI: service.baseURL, client: httpClient)
        let random = SystemRandom()
        let bulk = OwnedAddress(random: random)
        let probe = OwnedAddress(random: random)
        try await client.createAddress(bulk)
        try await client.createAddress(probe)
        let probeRoute = try Route(serviceURI: service.baseURL, serviceKey: try await client.serviceKey(), address: probe.id)
        var probeCursor: Int64 = 0

        /// One delivery over HTTP to the probe address, then an owner-signed fetch and ack of it, and an
        /// owner-signed fetch of the first page of the full address.
        func probeService() async throws -> (deliver: Duration, fetchAck: Duration, bulkPage: Duration, bulkPageCount: Int) {
            let clock = ContinuousClock()
            let envelope = try Envelope(sealing: random.bytes(ciphertextByteCount), to: probeRoute, random: random)
            let body = try JSONEncoder().encode(
                ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
            var request = HTTPClientRequest(url: service.baseURL + "/v1/deliver")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
            var start = clock.now
            let response = try await httpClient.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 64 * 1024)
            precondition(response.status.code == 202, "deliver answered \(response.status.code)")
            let deliver = clock.now - start

            start = clock.now
            let messages = try await client.fetch(probe, after: probeCursor, wait: 5)
            precondition(messages.count == 1, "the probe fetch returned \(messages.count) messages")
            probeCursor = messages[0].id
            try await client.acknowledge(probe, upTo: probeCursor)
            let fetchAck = clock.now - start

            start = clock.now
            let page = try await client.fetch(bulk, after: 0, wait: 0)
            let bulkPage = clock.now - start
            return (deliver, fetchAck, bulkPage, page.count)
        }

        let pgFiller = try postgres.map { try PostgresFiller($0) }
        func databaseMiB() async throws -> String {
            if let pgFiller { return String(format: "%.0f MiB", Double(try await pgFiller.databaseBytes()) / 1_048_576) }
            let files = [SQLiteReceivingStorage.databaseFileName, SQLiteReceivingStorage.databaseFileName + "-wal"]
            let bytes = files.compactMap { name -> Int? in
                (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path))?[.size] as? Int
            }.reduce(0, +)
            return String(format: "%.0f MiB", Double(bytes) / 1_048_576)
        }

        print("Receiving service memory with up to \(total) queued messages of \(ciphertextByteCount) bytes, on \(postgres == nil ? "SQLite" : "PostgreSQL")")
        print("(filled with the storage's own rows, \(rowsPerTransaction) per transaction, through a second connection)")
        print("")
        print("| Queued messages | VmRSS before probe | VmRSS after probe | Database + WAL | HTTP deliver | Fetch + ack (probe address) | Fetch first page (full address) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

        let overall = ContinuousClock.now
        let payload = random.bytes(ciphertextByteCount)
        var queued = 0
        var fillTime = Duration.zero
        // A second connection to a live database: it waits for the service's own writes and
        // checkpoints (and its expiry sweep) rather than failing with SQLITE_BUSY, which one run
        // did once the service synced every commit.
        var fillerConfiguration = Configuration()
        fillerConfiguration.busyMode = .timeout(120)
        let filler = try DatabaseQueue(
            path: directory.appendingPathComponent(SQLiteReceivingStorage.databaseFileName).path, configuration: fillerConfiguration)
        let bulkID = Data(bulk.id.bytes)
        let payloadData = Data(payload)
        for checkpoint in checkpoints {
            let fillStart = ContinuousClock.now
            while queued < checkpoint {
                let chunk = min(checkpoint - queued, rowsPerTransaction)
                let receivedAt = Int64(Date().timeIntervalSince1970)
                if let pgFiller {
                    try await pgFiller.fill(address: bulk.id.bytes, count: chunk, payload: payload, receivedAt: receivedAt)
                    queued += chunk
                    continue
                }
                try await filler.write { db in
                    let insert = try db.makeStatement(
                        sql: "INSERT INTO message (address_id, ciphertext, size, received_at) VALUES (?, ?, ?, ?)")
                    for _ in 0..<chunk {
                        try insert.execute(arguments: [bulkID, payloadData, payloadData.count, receivedAt])
                    }
                    try db.execute(
                        sql: "UPDATE address SET message_count = message_count + ?, byte_count = byte_count + ? WHERE id = ?",
                        arguments: [chunk, chunk * payloadData.count, bulkID])
                }
                queued += chunk
            }
            fillTime += ContinuousClock.now - fillStart
            let before = residentKiB()
            let result = try await probeService()
            let after = residentKiB()
            print(
                "| \(queued) | \(megabytes(before)) | \(megabytes(after)) | \(try await databaseMiB()) | \(milliseconds(result.deliver)) | \(milliseconds(result.fetchAck)) | \(milliseconds(result.bulkPage)) (\(result.bulkPageCount) msgs) |"
            )
        }
        try await filler.close()
        pgFiller?.close()
        let counts = try await storage.counts()
        print("")
        print("Queued at the end (storage counts): \(counts.messages) messages; expected \(total).")
        let seconds = Double(fillTime.components.seconds) + Double(fillTime.components.attoseconds) / 1e18
        print(String(format: "Fill rate: %.0f messages/s. Whole run: %@.", Double(total) / seconds,
            "\(ContinuousClock.now - overall)"))
        precondition(counts.messages == total, "expected \(total) queued messages, found \(counts.messages)")
        try await httpClient.shutdown()
        await service.stop()
    }
}

/// Fills a PostgreSQL receiving service's tables as `PostgresReceivingStorage.deliver` would
/// (the message rows with the address's next ids, and its counters), a chunk per statement.
final class PostgresFiller: Sendable {
    let client: PostgresClient
    private let running: Task<Void, Never>

    static func configuration(_ location: PostgresLocation) -> PostgresClient.Configuration {
        guard case .unixSocket(let directory, let port) = location.endpoint else { fatalError("the benchmarks' cluster is on a socket") }
        return PostgresClient.Configuration(
            unixSocketPath: directory + "/.s.PGSQL.\(port)", username: location.username, password: location.password,
            database: location.database)
    }

    static func newDatabase() async throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment["PROTON_TEST_DATABASE"], var location = PostgresLocation(url) else {
            fatalError("PROTON_MEMORY_BACKEND=postgres needs the cluster of scripts/postgres run (PROTON_TEST_DATABASE)")
        }
        let admin = try PostgresFiller(location)
        defer { admin.close() }
        let name = "memory_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        location.database = name
        return location
    }

    init(_ location: PostgresLocation) throws {
        let client = PostgresClient(configuration: Self.configuration(location))
        self.client = client
        running = Task { await client.run() }
    }

    func fill(address: [UInt8], count: Int, payload: [UInt8], receivedAt: Int64) async throws {
        let id = ByteBuffer(bytes: address)
        try await client.withTransaction(logger: Logger(label: "bench.filler")) { connection in
            let first = try await connection.query(
                "UPDATE receiving_address SET last_message_id = last_message_id + \(Int64(count)), message_count = message_count + \(Int64(count)), byte_count = byte_count + \(Int64(count * payload.count)) WHERE id = \(id) RETURNING last_message_id - \(Int64(count))",
                logger: Logger(label: "bench.filler")
            ).collect()[0].decode(Int64.self)
            try await connection.query(
                """
                INSERT INTO receiving_message (address_id, id, ciphertext, size, received_at)
                SELECT \(id), n, \(ByteBuffer(bytes: payload)), \(Int32(payload.count)), \(receivedAt)
                FROM generate_series(\(first + 1), \(first + Int64(count))) AS n
                """, logger: Logger(label: "bench.filler"))
        }
    }

    func databaseBytes() async throws -> Int64 {
        try await client.query("SELECT pg_database_size(current_database())").collect()[0].decode(Int64.self)
    }

    func close() { running.cancel() }
}
