import Foundation
import Hummingbird
import Logging
import ProtonCore
import ProtonCrypto
import ProtonServices
import ServiceLifecycle
import Synchronization
import Testing

/// A target can cost the sending service only bounded time: an answer that sends its headers
/// and then trickles the body is cut off at the request timeout, and first contacts (the only
/// requests a stranger's target can make it send) share a lane of their own, so deliveries to
/// a checked receiving service never wait behind targets that stall.
@Suite struct ForwardingDeadlineTests {
    /// A target that answers with headers and then trickles its body a byte at a time: either at `GET /v1/info`
    /// (`publishing` nil) or, after publishing a key there, at the delivery endpoints.
    final class Staller: Sendable {
        final class Counters: Sendable {
            let state = Mutex<(requests: [String], started: [Date])>(([], []))
        }

        let counters: Counters
        let port: Int
        private let group: ServiceGroup
        private let task: Task<Void, any Error>

        private init(counters: Counters, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
            self.counters = counters
            self.port = port
            self.group = group
            self.task = task
        }

        var url: String { "http://127.0.0.1:\(port)" }
        var requests: [String] { counters.state.withLock { $0.requests } }
        /// Requests whose stalled answer has begun.
        var started: Int { counters.state.withLock { $0.started.count } }

        static func start(publishing key: SealedBox.PublicKey? = nil, counters: Counters = Counters()) async throws -> Staller {
            let router = Router()
            router.add(middleware: Stall(publishing: key, counters: counters))
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "test.staller"))
            let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "test.staller"))
            let task = Task { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            return Staller(counters: counters, port: port, group: group, task: task)
        }

        func stop() async {
            await group.triggerGracefulShutdown()
            task.cancel()
        }

        struct Stall: RouterMiddleware {
            let publishing: SealedBox.PublicKey?
            let counters: Counters

            func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response)
                async throws -> Response
            {
                let line = "\(request.method) \(request.uri.path)"
                if let publishing, request.uri.path == "/v1/info" {
                    counters.state.withLock { $0.requests.append(line) }
                    let info = ServiceAPI.ServiceInfo(
                        publicKey: Base64URL.encode(publishing.rawRepresentation), messageLifetimeSeconds: 3600,
                        maximumMessagesPerAddress: 100, maximumBytesPerAddress: 1 << 20)
                    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(info))))
                }
                let counters = counters
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody { writer in
                        counters.state.withLock {
                            $0.requests.append(line)
                            $0.started.append(Date())
                        }
                        // A space every 0.3 s: never idle long enough for a read timeout.
                        for _ in 0..<2000 {
                            try await writer.write(ByteBuffer(string: " "))
                            try await Task.sleep(for: .milliseconds(300))
                        }
                        try await writer.finish(nil)
                    })
            }
        }
    }

    private static let quickPolicy = ForwardingPolicy(
        maximumAttempts: 1, initialBackoff: 0.2, maximumBackoff: 0.5, requestTimeout: 1.5, connectTimeout: 1, concurrency: 4,
        firstContactConcurrency: 1, allowsPrivateTargets: true)

    /// A staller that publishes a key, a sending service forwarding with `policy`, and one
    /// message to the staller whose request has begun (and stalls).
    private static func oneRequestStalled(_ policy: ForwardingPolicy) async throws
        -> (key: SealedBox.PublicKey, staller: Staller, sending: SendingServiceTests.SendingFixture)
    {
        let key = SealedBox.PrivateKey().publicKey
        let staller = try await Staller.start(publishing: key)
        let sending = try await SendingServiceTests.SendingFixture.start(forwarding: policy)
        _ = try await sending.send(envelope(to: staller.url, key: key), to: staller.url, serviceKey: key)
        #expect(try await eventually { staller.started == 1 })
        return (key, staller, sending)
    }

    private static func envelope(to url: String, key: SealedBox.PublicKey) throws -> Envelope {
        try Envelope(sealing: [1, 2, 3], to: Route(serviceURI: url, serviceKey: key, address: AddressID(random: SystemRandom())), random: SystemRandom())
    }

    /// `GET /v1/info` answers its headers, then a byte now and then: the message settles as unreachable
    /// after the request timeout instead of holding a forwarding slot forever.
    @Test func aKeyCheckThatTricklesItsBodyIsCutOff() async throws {
        let staller = try await Staller.start()
        let sending = try await SendingServiceTests.SendingFixture.start(forwarding: Self.quickPolicy)
        let key = SealedBox.PrivateKey().publicKey
        let sent = try await sending.send(Self.envelope(to: staller.url, key: key), to: staller.url, serviceKey: key)
        let status = try await sending.settled(sent.id)
        #expect(status.state == .failed)
        #expect(status.outcome == .unreachable)
        #expect(staller.requests == ["GET /v1/info"])
        await sending.running.stop()
        await staller.stop()
    }

    /// A target that publishes the right key, then stalls every delivery after its headers.
    @Test func aDeliveryThatTricklesItsBodyIsCutOff() async throws {
        let key = SealedBox.PrivateKey().publicKey
        let staller = try await Staller.start(publishing: key)
        let sending = try await SendingServiceTests.SendingFixture.start(forwarding: Self.quickPolicy)
        let sent = try await sending.send(Self.envelope(to: staller.url, key: key), to: staller.url, serviceKey: key)
        let status = try await sending.settled(sent.id)
        #expect(status.state == .failed)
        #expect(status.outcome == .unreachable)
        #expect(staller.requests == ["GET /v1/info", "POST /v1/deliver"])
        await sending.running.stop()
        await staller.stop()
    }

    /// Messages to a target with a request in flight that fill requests by size (60 KB each:
    /// a 4 MiB request holds about 50) are no partial batch to hold back: they start at once on
    /// the free requests, instead of waiting (here 30 s) for the request in flight to end.
    @Test func requestsFullBySizeDoNotWaitForTheirTargetsRequestInFlight() async throws {
        var policy = Self.quickPolicy
        policy.requestTimeout = 30
        let (key, staller, sending) = try await Self.oneRequestStalled(policy)
        func started() -> Int { staller.started }
        let large = [UInt8](repeating: 7, count: 60_000)
        for _ in 0..<110 {
            let envelope = try Envelope(
                sealing: large, to: Route(serviceURI: staller.url, serviceKey: key, address: AddressID(random: SystemRandom())), random: SystemRandom())
            _ = try await sending.send(envelope, to: staller.url, serviceKey: key)
        }
        // Two requests full by size and a partial third: the two start beside the stalled one.
        #expect(try await eventually(timeout: 20) { started() >= 3 }, "\(started()) requests started")
        await sending.running.stop()
        await staller.stop()
    }

    /// A checked receiving service that stalls every delivery, with a backlog older than any
    /// other message, holds all but one of the forwarding requests: a message to another
    /// service is delivered while the three stalled requests run (60 s), and no fourth starts.
    @Test func aStallingServiceWithABacklogLeavesARequestForTheOthers() async throws {
        let receiving = try await ReceivingFixture.start()
        let owner = Owner()
        try await receiving.create(owner)
        var policy = Self.quickPolicy
        policy.requestTimeout = 60
        policy.batchSize = 10
        let (key, staller, sending) = try await Self.oneRequestStalled(policy)
        func started() -> Int { staller.started }
        // Four full requests' worth, older than the other service's message.
        for _ in 0..<40 { _ = try await sending.send(Self.envelope(to: staller.url, key: key), to: staller.url, serviceKey: key) }
        #expect(try await eventually { started() == 3 }, "\(started()) requests started")

        let other = try await sending.send(try receiving.sealed(owner.id), to: receiving)
        #expect(try await eventually(timeout: 20) { try await sending.status(other.id).state == .delivered })
        #expect(started() == 3, "\(started()) requests to the stalling service")
        await sending.running.stop()
        await staller.stop()
        await receiving.stop()
    }

    /// With every forwarding request in flight and a message due, the forwarder waits for a
    /// request to end: it does not read the outbox meanwhile (it read it again every
    /// millisecond, for as long as a target stalled).
    @Test func aForwarderWithEveryRequestInFlightDoesNotPollTheOutbox() async throws {
        let key = SealedBox.PrivateKey().publicKey
        let staller = try await Staller.start(publishing: key)
        var policy = Self.quickPolicy
        policy.requestTimeout = 60
        policy.concurrency = 1
        let directory = temporaryDirectory("forwarder-reads")
        let storage = ReadCountingStorage(try SQLiteSendingStorage(directory: directory))
        let running = try await SendingService.start(
            configuration: SendingServiceConfiguration(dataDirectory: directory, forwarding: policy), storage: storage)
        let sending = SendingServiceTests.SendingFixture(directory: directory, storage: storage, database: nil, running: running)
        _ = try await sending.send(Self.envelope(to: staller.url, key: key), to: staller.url, serviceKey: key)
        #expect(try await eventually { staller.started == 1 })
        // Due, for another service (so its arrival wakes the forwarder), with no request free.
        let elsewhere = "http://127.0.0.1:9"
        _ = try await sending.send(Self.envelope(to: elsewhere, key: key), to: elsewhere, serviceKey: key)
        try await Task.sleep(for: .milliseconds(500))
        let before = storage.reads.withLock { $0 }
        try await Task.sleep(for: .seconds(3))
        let during = storage.reads.withLock { $0 } - before
        #expect(during <= 6, "\(during) outbox reads in 3 s with every request in flight")
        await running.stop()
        await staller.stop()
    }

    /// A sending storage that counts the forwarder's reads of the outbox.
    final class ReadCountingStorage: SendingStorage {
        let storage: any SendingStorage
        let reads = Mutex(0)

        init(_ storage: any SendingStorage) { self.storage = storage }

        func enqueue(_ entry: OutboxEntry, now: Date) async throws { try await storage.enqueue(entry, now: now) }
        func status(_ id: String) async throws -> ServiceAPI.SendStatus? { try await storage.status(id) }
        func dueEntries(now: Date, excluding: Set<String>, excludingTargets: Set<ForwardingTarget>, limit: Int) async throws -> [OutboxEntry] {
            reads.withLock { $0 += 1 }
            return try await storage.dueEntries(now: now, excluding: excluding, excludingTargets: excludingTargets, limit: limit)
        }
        func release(_ ids: [String]) async throws { try await storage.release(ids) }
        func nextAttemptTime(now: Date, excluding: Set<String>) async throws -> Date? {
            reads.withLock { $0 += 1 }
            return try await storage.nextAttemptTime(now: now, excluding: excluding)
        }
        func record(_ results: [ForwardingResult], now: Date) async throws { try await storage.record(results, now: now) }
        func purgeSettled(before: Date) async throws -> Int { try await storage.purgeSettled(before: before) }
        func counts() async throws -> SendingStorageCounts { try await storage.counts() }
        func queuedCount() async throws -> Int { try await storage.queuedCount() }
        func isReady() async -> Bool { await storage.isReady() }
        func close() async { await storage.close() }
    }

    /// Four strangers' targets that stall their key checks take one forwarding slot between
    /// them, never all four: a message to a receiving service already checked is delivered
    /// while the first of them still holds the lane and the other three wait their turn.
    /// The stall (30 s) is far longer than a delivery takes on a loaded machine, so what is
    /// asserted is an order of events, not a race against the clock.
    @Test func stallingFirstContactsDoNotHoldUpCheckedServices() async throws {
        let receiving = try await ReceivingFixture.start()
        let owner = Owner()
        try await receiving.create(owner)
        var policy = Self.quickPolicy
        policy.requestTimeout = 30
        let sending = try await SendingServiceTests.SendingFixture.start(forwarding: policy)
        // Checked once: the receiving service's key is now known.
        let first = try await sending.send(try receiving.sealed(owner.id), to: receiving)
        #expect(try await sending.settled(first.id).state == .delivered)

        let counters = Staller.Counters()
        var stallers: [Staller] = []
        var stalled: [String] = []
        for _ in 0..<4 {
            let staller = try await Staller.start(counters: counters)
            let key = SealedBox.PrivateKey().publicKey
            stalled.append(try await sending.send(Self.envelope(to: staller.url, key: key), to: staller.url, serviceKey: key).id)
            stallers.append(staller)
        }
        #expect(try await eventually { counters.state.withLock { $0.started.count } == 1 })
        let second = try await sending.send(try receiving.sealed(owner.id), to: receiving)
        #expect(try await sending.settled(second.id).state == .delivered)
        // With a forwarding concurrency of 4 and no lane, all four key checks would have begun.
        let started = counters.state.withLock { $0.started.count }
        #expect(started == 1, "\(started) first contacts ran at once")
        let stillQueued = try await stalled.asyncCount { try await sending.status($0).state == .queued }
        #expect(stillQueued == 4, "the checked service's message waited behind \(4 - stillQueued) stalled first contacts")

        // Stopped, the stallers refuse or drop their connections: every stalled message settles
        // as unreachable (within the 30 s deadline at the latest).
        for staller in stallers { await staller.stop() }
        for id in stalled {
            _ = try await eventually(timeout: 60) { try await sending.status(id).state != .queued }
            #expect(try await sending.status(id).outcome == .unreachable)
        }
        await sending.running.stop()
        await receiving.stop()
    }
}

extension Array {
    fileprivate func asyncCount(_ predicate: (Element) async throws -> Bool) async rethrows -> Int {
        var count = 0
        for element in self where try await predicate(element) { count += 1 }
        return count
    }
}
