import Foundation
import Hummingbird
import Logging
import ProtonCore
import ProtonCrypto
import ProtonServices
import ServiceLifecycle
import Synchronization
import Testing

/// A sending service is no proxy into its own network: it delivers only to public addresses
/// (unless its operator allows private ones), only to a Proton receiving service that publishes
/// the key the client named, never along a path prefix, and reports to clients only its own
/// classified outcome.
@Suite struct ForwardingTargetTests {
    /// Something on loopback that is not a receiving service: an admin endpoint that answers
    /// every request with a banner and records what it was asked.
    final class AdminStandIn: Sendable {
        static let banner = "ADMIN CONSOLE v3 -- reset token 7f3a9c"

        final class RequestLog: Sendable {
            let lines = Mutex<[String]>([])
        }

        let log: RequestLog
        let port: Int
        private let group: ServiceGroup
        private let task: Task<Void, any Error>

        private init(log: RequestLog, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
            self.log = log
            self.port = port
            self.group = group
            self.task = task
        }

        var url: String { "http://127.0.0.1:\(port)" }
        /// "METHOD /path" for every request it got.
        var requestLines: [String] { log.lines.withLock { $0 } }

        static func start(status: HTTPResponse.Status = .ok) async throws -> AdminStandIn {
            let log = RequestLog()
            let router = Router()
            router.add(middleware: Recorder(status: status, log: log))
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "test.standin"))
            let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "test.standin"))
            let task = Task { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            return AdminStandIn(log: log, port: port, group: group, task: task)
        }

        func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
        }

        struct Recorder: RouterMiddleware {
            let status: HTTPResponse.Status
            let log: RequestLog

            func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response)
                async throws -> Response
            {
                log.lines.withLock { $0.append("\(request.method) \(request.uri.path)") }
                return Response(status: status, body: .init(byteBuffer: ByteBuffer(string: AdminStandIn.banner)))
            }
        }
    }

    private static func send(to receivingService: String, serviceKey: SealedBox.PublicKey, via sending: String) async throws -> HTTPAnswer {
        let route = try Route(serviceURI: "http://127.0.0.1:9", serviceKey: serviceKey, address: AddressID(random: SystemRandom()))
        let envelope = try Envelope(sealing: Array("hello".utf8), to: route, random: SystemRandom())
        let body = HTTP.json(
            ServiceAPI.Send(
                receivingService: receivingService, serviceKey: Base64URL.encode(serviceKey.rawRepresentation),
                sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
        return try await HTTP.request("POST", sending + "/v1/send", body: body)
    }

    private static func settled(_ id: String, at sending: String) async throws -> ServiceAPI.SendStatus {
        var status = ServiceAPI.SendStatus(id: id, state: .queued, attempts: 0)
        _ = try await eventually(timeout: 30) {
            status = try await HTTP.request("GET", sending + "/v1/send/\(id)").decode(ServiceAPI.SendStatus.self)
            return status.state != .queued
        }
        return status
    }

    /// The attack as it was found, against a real `proton serve sending` process with the
    /// default policy: a loopback target is refused, and nothing reaches it.
    @Test func defaultSendingServiceRefusesALoopbackTargetAndNeverContactsIt() async throws {
        let admin = try await AdminStandIn.start()
        let served = try ServeProcessTests.ServeProcess.start("sending", data: temporaryDirectory("ssrf-default"), allowPrivateTargets: false)
        defer { served.process.terminate() }

        let accepted = try await Self.send(to: admin.url, serviceKey: SealedBox.PrivateKey().publicKey, via: served.url)
        #expect(accepted.status == 202)
        let status = try await Self.settled(try accepted.decode(ServiceAPI.SendStatus.self).id, at: served.url)
        #expect(status.state == .failed)
        #expect(status.outcome == .refused)
        #expect(status.error?.contains("not public") == true)
        #expect(admin.requestLines.isEmpty, "the sending service contacted \(admin.requestLines)")

        // The path-prefix form of the attack is refused before anything is queued.
        let prefixed = try await Self.send(to: admin.url + "/admin/reset", serviceKey: SealedBox.PrivateKey().publicKey, via: served.url)
        #expect(prefixed.status == 400)
        #expect(prefixed.errorCode == "bad_receiving_service")
        #expect(admin.requestLines.isEmpty)
        await admin.stop()
    }

    /// With private targets allowed (as in a demo), something that is not a receiving service
    /// gets one `GET /v1/info` and never a delivery, and its answer never reaches the client.
    @Test func somethingThatIsNotAReceivingServiceGetsNoDeliveryAndIsNotEchoed() async throws {
        let admin = try await AdminStandIn.start()
        let served = try ServeProcessTests.ServeProcess.start("sending", data: temporaryDirectory("ssrf-info"), allowPrivateTargets: true)
        defer { served.process.terminate() }

        let accepted = try await Self.send(to: admin.url, serviceKey: SealedBox.PrivateKey().publicKey, via: served.url)
        let id = try accepted.decode(ServiceAPI.SendStatus.self).id
        let status = try await Self.settled(id, at: served.url)
        #expect(status.state == .failed)
        #expect(status.outcome == .refused)
        #expect(admin.requestLines == ["GET /v1/info"])
        let raw = try await HTTP.request("GET", served.url + "/v1/send/\(id)")
        #expect(!String(decoding: raw.body, as: UTF8.self).contains("ADMIN"))
        #expect(!String(decoding: raw.body, as: UTF8.self).contains("7f3a9c"))
        await admin.stop()
    }

    /// A real receiving service, but not the key the client sealed to: refused, nothing stored.
    @Test func aReceivingServiceWithAnotherKeyIsRefused() async throws {
        let receiving = try await ReceivingFixture.start()
        let sending = try await SendingServiceTests.SendingFixture.start()
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id)
        let accepted = try await sending.send(envelope, to: receiving.url, serviceKey: SealedBox.PrivateKey().publicKey)
        let status = try await sending.settled(accepted.id)
        #expect(status.state == .failed)
        #expect(status.outcome == .refused)
        #expect(try await receiving.storage.counts().messages == 0)
        await sending.running.stop()
        await receiving.stop()
    }

    /// Twenty messages to a target that keeps failing cost a few attempts in all, not twenty
    /// times the per-message retries: the target backs off as a whole.
    @Test func aFailingTargetIsBackedOffAsAWhole() async throws {
        let failing = try await AdminStandIn.start(status: .serviceUnavailable)
        let policy = ForwardingPolicy(maximumAttempts: 3, initialBackoff: 0.5, maximumBackoff: 1, requestTimeout: 2, allowsPrivateTargets: true)
        let sending = try await SendingServiceTests.SendingFixture.start(forwarding: policy)
        let key = SealedBox.PrivateKey().publicKey
        let began = Date()
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let route = try Route(serviceURI: failing.url, serviceKey: key, address: AddressID(random: SystemRandom()))
                    return try await sending.send(Envelope(sealing: [1], to: route, random: SystemRandom()), to: failing.url, serviceKey: key).id
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        // A loaded machine may spread the twenty arrivals over several backoff windows.
        let arrivals = Date().timeIntervalSince(began)
        for id in ids {
            let status = try await sending.settled(id)
            #expect(status.state == .failed)
            #expect(status.outcome == .unreachable)
        }
        // Unbounded, each message would cost up to 3 requests (60 in all). Backed off as a whole,
        // the target gets at most one probe per backoff window (at least 0.5 s) while messages
        // arrive, and then the 3 that the last of them needs to give up: 3 when all twenty
        // arrive in one window.
        let bound = Int((arrivals / policy.initialBackoff).rounded(.up)) + 1 + policy.maximumAttempts
        #expect(failing.requestLines.count <= bound, "\(failing.requestLines.count) requests for arrivals over \(arrivals) s")
        #expect(failing.requestLines.allSatisfy { $0 == "GET /v1/info" })
        await sending.running.stop()
        await failing.stop()
    }

    @Test func sendsPerClientAreRateLimited() async throws {
        let directory = temporaryDirectory("rate-limit")
        let running = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: directory, forwarding: ForwardingPolicy(isEnabled: false),
                sendRateLimit: ClientRateLimit(perSecond: 0.01, burst: 5)))
        var statuses: [Int] = []
        for _ in 0..<8 {
            statuses.append(try await Self.send(to: "http://example.org", serviceKey: SealedBox.PrivateKey().publicKey, via: running.baseURL).status)
        }
        #expect(statuses == [202, 202, 202, 202, 202, 429, 429, 429])
        await running.stop()
    }

    /// IPv6 clients are limited per /64, so one host cannot take a budget per address.
    @Test func rateLimitsCountIPv6ClientsPerNetwork() {
        #expect(ClientRateLimit.client(ofIP: "2001:db8:1:2::5") == ClientRateLimit.client(ofIP: "2001:db8:1:2:ffff:eeee:dddd:9"))
        #expect(ClientRateLimit.client(ofIP: "2001:db8:1:2::5") != ClientRateLimit.client(ofIP: "2001:db8:1:3::5"))
        #expect(ClientRateLimit.client(ofIP: "::ffff:192.0.2.7") == "192.0.2.7")
        #expect(ClientRateLimit.client(ofIP: "192.0.2.7") == "192.0.2.7")
    }

    @Test(arguments: [
        ("127.0.0.1", false), ("127.255.0.9", false), ("10.1.2.3", false), ("172.16.0.1", false), ("172.31.255.255", false),
        ("192.168.1.1", false), ("169.254.169.254", false), ("100.64.0.1", false), ("0.0.0.0", false), ("224.0.0.1", false),
        ("255.255.255.255", false), ("198.18.0.1", false), ("192.0.2.1", false), ("::1", false), ("::", false), ("fe80::1", false),
        ("fd00::1", false), ("ff02::1", false), ("::ffff:127.0.0.1", false), ("::ffff:10.0.0.1", false), ("64:ff9b::a00:1", false),
        ("2002:7f00:1::", false), ("2001:db8::1", false), ("2001::1", false),
        ("93.184.216.34", true), ("8.8.8.8", true), ("172.32.0.1", true), ("100.128.0.1", true), ("2606:4700::1111", true),
        ("::ffff:8.8.8.8", true), ("64:ff9b::808:808", true),
    ])
    func addressClassification(_ text: String, _ isPublic: Bool) throws {
        let address = try #require(TargetAddress(text))
        #expect(address.isPublic == isPublic, "\(text)")
    }

    /// Names are checked after resolution: "localhost" and a decimal-encoded 127.0.0.1 are
    /// loopback whatever they look like.
    @Test func namesAreCheckedAfterResolution() async throws {
        let localhost = await TargetAddress.resolve("localhost")
        #expect(!localhost.isEmpty)
        #expect(localhost.allSatisfy { !$0.isPublic })
        let decimal = await TargetAddress.resolve("2130706433")
        #expect(decimal.allSatisfy { !$0.isPublic })
    }
}
