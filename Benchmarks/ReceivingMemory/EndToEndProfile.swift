// Profiling driver for issue 3's end-to-end path (not part of `make bench`): with
// PROTON_PROFILE_END_TO_END=N set, ReceivingMemory instead times N messages through each stage
// alone and then end to end, so that a stage's share of the time can be read off, and so that
// `valgrind --tool=callgrind` has a small, fixed workload to count.
import AsyncHTTPClient
import BenchmarkEndpoints
import Foundation
import Logging
import NIOCore
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices

enum EndToEndProfile {
    static let concurrency = 16

    /// This process's user + system CPU time: what a stage costs, whatever else the machine runs.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// With PROTON_PROFILE_PERF_FIFO=PATH, one stage alone is recorded by a `perf record
    /// --control=fifo:PATH -D -1` attached to the run (started disabled): not the sealing of the
    /// bodies before it, nor the other stages. The stage is PROTON_PROFILE_PERF_STAGE: `e2e`
    /// (the default), `send` (the outbox commit alone) or `durable` (the durable bare hop).
    static func perfControl(_ command: String, stage: String) {
        let environment = ProcessInfo.processInfo.environment
        guard stage == (environment["PROTON_PROFILE_PERF_STAGE"] ?? "e2e"), let path = environment["PROTON_PROFILE_PERF_FIFO"],
            let fifo = FileHandle(forWritingAtPath: path)
        else { return }
        fifo.write(Data((command + "\n").utf8))
        try? fifo.close()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func run(count: Int) async throws {
        var logger = Logger(label: "profile")
        logger.logLevel = .warning
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let random = SystemRandom()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-profile-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let limits = ReceivingServiceLimits(maximumMessagesPerAddress: 10_000_000, maximumBytesPerAddress: 1 << 40)
        let receiving = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(dataDirectory: directory.appendingPathComponent("r"), limits: limits, logger: logger))
        var forwarding = ForwardingPolicy(allowsPrivateTargets: true)
        if let value = ProcessInfo.processInfo.environment["PROTON_PROFILE_FORWARDING"] {
            // "CONCURRENCY,BATCH", to compare forwarding policies.
            let parts = value.split(separator: ",").compactMap { Int($0) }
            if parts.count == 2 { forwarding.concurrency = parts[0]; forwarding.batchSize = parts[1] }
        }
        print("forwarding: \(forwarding.concurrency) requests in flight, up to \(forwarding.batchSize) messages each")
        let sending = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: directory.appendingPathComponent("s"), forwarding: forwarding, sendRateLimit: .unlimited, logger: logger))
        let queueOnly = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: directory.appendingPathComponent("q"), forwarding: ForwardingPolicy(isEnabled: false), sendRateLimit: .unlimited,
                logger: logger))
        let durable = try await DurableEndpoint(postgres: false)
        let owner = ReceivingServiceClient(serviceURI: receiving.baseURL, client: http)
        let address = OwnedAddress(random: random)
        try await owner.createAddress(address)
        let route = try Route(serviceURI: receiving.baseURL, serviceKey: try await owner.serviceKey(), address: address.id)
        func envelopes() throws -> [Envelope] {
            try (0..<count).map { _ in try Envelope(sealing: random.bytes(1_360), to: route, random: random) }
        }
        func sendBodies() throws -> [[UInt8]] {
            try envelopes().map {
                Array(
                    try JSONEncoder().encode(
                        ServiceAPI.Send(
                            receivingService: route.serviceURI, serviceKey: Base64URL.encode(route.serviceKey.rawRepresentation),
                            sealedAddress: Base64URL.encode($0.sealedAddress), ciphertext: Base64URL.encode($0.ciphertext))))
            }
        }
        let clock = ContinuousClock()
        var cursor: Int64 = 0
        func drain(_ expected: Int) async throws -> (Duration, Int) {
            let start = clock.now
            var received = 0
            var fetches = 0
            while received < expected {
                let messages = try await owner.fetch(address, after: cursor, wait: 5)
                fetches += 1
                guard let last = messages.last else { continue }
                received += messages.count
                cursor = last.id
            }
            try await owner.acknowledge(address, upTo: cursor)
            return (clock.now - start, fetches)
        }
        var cpuMark = cpuSeconds()
        func report(_ what: String, _ duration: Duration) {
            let cpu = cpuSeconds()
            print(String(format: "%@: %.0f µs per message, %.0f messages/s, CPU %.0f µs per message", what, seconds(duration) * 1e6 / Double(count), Double(count) / seconds(duration), (cpu - cpuMark) * 1e6 / Double(count)))
            cpuMark = cpu
        }
        // PROTON_PROFILE_ONLY=e2e: the end-to-end stage alone (for a profiler attached to the run).
        let onlyEndToEnd = ProcessInfo.processInfo.environment["PROTON_PROFILE_ONLY"] == "e2e"
        for round in 1...2 {
            print("round \(round)")
            var start = clock.now
            if !onlyEndToEnd {
            // Baselines: the process idle, and a near-bare request (GET /v1/info) with the same client.
            cpuMark = cpuSeconds()
            start = clock.now
            try await Task.sleep(for: .seconds(1))
            report("  idle for 1 s (per message of the count)", clock.now - start)
            cpuMark = cpuSeconds()
            start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        for _ in stride(from: worker, to: count, by: concurrency) {
                            let response = try await http.execute(HTTPClientRequest(url: receiving.baseURL + "/v1/info"), timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 16)
                        }
                    }
                }
                try await group.waitForAll()
            }
            report("  GET /v1/info (near-bare baseline)", clock.now - start)
            // The durable bare hop of the benchmarks (SQLite, group commit, synced): the same
            // bodies stored as they come, without a service's checks and answer.
            let durableBodies = try sendBodies()
            cpuMark = cpuSeconds()
            start = clock.now
            perfControl("enable", stage: "durable")
            try await postAll(durableBodies, to: durable.url)
            perfControl("disable", stage: "durable")
            report("  durable bare hop (SQLite)", clock.now - start)
            // Stage 1: POST /v1/send answered 202 (outbox commit), nothing forwarded.
            let queueBodies = try sendBodies()
            cpuMark = cpuSeconds()
            start = clock.now
            perfControl("enable", stage: "send")
            try await postAll(queueBodies, to: queueOnly.baseURL + "/v1/send")
            perfControl("disable", stage: "send")
            report("  send (outbox commit only)", clock.now - start)
            // Stage 2: POST /v1/deliver straight to the receiving service, then drain.
            let deliverBodies = try envelopes().map {
                Array(try JSONEncoder().encode(ServiceAPI.Delivery(sealedAddress: Base64URL.encode($0.sealedAddress), ciphertext: Base64URL.encode($0.ciphertext))))
            }
            cpuMark = cpuSeconds()
            start = clock.now
            try await postAll(deliverBodies, to: receiving.baseURL + "/v1/deliver")
            report("  deliver (sealed-box open + commit)", clock.now - start)
            let (drained, fetches) = try await drain(count)
            report("  fetch + ack of those (\(fetches) fetches)", drained)
            }
            // Stage 3: the whole path, as the benchmark runs it.
            let bodies = try sendBodies()
            perfControl("enable", stage: "e2e")
            defer { perfControl("disable", stage: "e2e") }
            cpuMark = cpuSeconds()
            let endToEndCPU = cpuMark
            start = clock.now
            try await postAll(bodies, to: sending.baseURL + "/v1/send")
            let posted = clock.now - start
            let (rest, fetches2) = try await drain(count)
            report("  end to end: posting phase + after posting, until fetched + acked (\(fetches2) fetches)", rest)
            cpuMark = endToEndCPU
            report("  END TO END", posted + rest)
            _ = posted
        }
        try await http.shutdown()
        await queueOnly.stop()
        await sending.stop()
        await receiving.stop()
    }
}
