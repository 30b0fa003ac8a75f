import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

@Suite struct SendingServiceTests {
    /// A sending service on a loopback port with its storage at hand.
    struct SendingFixture {
        let directory: URL
        let storage: any SendingStorage
        let database: PostgresLocation?
        let running: RunningService

        static func start(
            backend: StorageBackend = .sqlite, directory: URL = temporaryDirectory("sending"), forwarding: ForwardingPolicy = Self.fastRetries,
            logs: LogCapture? = nil, database: PostgresLocation? = nil
        ) async throws -> SendingFixture {
            let database = try await backend.database(database)
            let storage = try await backend.sendingStorage(directory: directory, database: database, claimLease: forwarding.claimLease)
            var configuration = SendingServiceConfiguration(dataDirectory: directory, forwarding: forwarding)
            if let logs { configuration.logger = logs.logger(label: "test.sending") }
            let running = try await SendingService.start(configuration: configuration, storage: storage)
            return SendingFixture(directory: directory, storage: storage, database: database, running: running)
        }

        static let fastRetries = ForwardingPolicy(
            maximumAttempts: 40, initialBackoff: 0.05, maximumBackoff: 0.3, requestTimeout: 5, allowsPrivateTargets: true)

        func send(_ envelope: Envelope, to receiving: ReceivingFixture) async throws -> ServiceAPI.SendStatus {
            try await send(envelope, to: receiving.url, serviceKey: receiving.serviceKey)
        }

        func send(_ envelope: Envelope, to receiving: String, serviceKey: SealedBox.PublicKey) async throws -> ServiceAPI.SendStatus {
            let body = HTTP.json(
                ServiceAPI.Send(
                    receivingService: receiving, serviceKey: Base64URL.encode(serviceKey.rawRepresentation),
                    sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
            let answer = try await HTTP.request("POST", running.baseURL + "/v1/send", body: body)
            #expect(answer.status == 202)
            return try answer.decode(ServiceAPI.SendStatus.self)
        }

        func status(_ id: String) async throws -> ServiceAPI.SendStatus {
            try await HTTP.request("GET", running.baseURL + "/v1/send/\(id)").decode(ServiceAPI.SendStatus.self)
        }

        /// Waits until the message leaves the queued state.
        func settled(_ id: String) async throws -> ServiceAPI.SendStatus {
            _ = try await eventually { try await status(id).state != .queued }
            return try await status(id)
        }
    }

    /// A service released without `stop()` (as by a test that failed before reaching it) shuts
    /// itself down and closes its HTTP client: an HTTP client released unclosed is a fatal error
    /// that would end this whole test process.
    @Test func releasedServiceShutsItselfDown() async throws {
        var baseURL = ""
        do {
            let sending = try await SendingFixture.start()
            baseURL = sending.running.baseURL
            #expect(try await HTTP.request("GET", baseURL + "/v1/send/unknown").status == 404)
        }
        let stopped = try await eventually(timeout: 60) {
            (try? await HTTP.request("GET", baseURL + "/v1/send/unknown", timeout: 2)) == nil
        }
        #expect(stopped)
    }

    @Test(arguments: StorageBackend.allCases) func sendIsDelivered(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let sending = try await SendingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)

        let accepted = try await sending.send(receiving.sealed(owner.id, ciphertext: [1, 2, 3]), to: receiving)
        #expect(accepted.state == .queued)
        let status = try await sending.settled(accepted.id)
        #expect(status.state == .delivered)
        #expect(status.attempts == 1)
        let messages = try await receiving.fetch(owner).decode(ServiceAPI.Messages.self).messages
        #expect(messages.map(\.ciphertext) == [Base64URL.encode([1, 2, 3])])
        #expect(try await sending.storage.counts() == SendingStorageCounts(queued: 0, delivered: 1, failed: 0, withCiphertext: 0))

        let unknown = try await HTTP.request("GET", sending.running.baseURL + "/v1/send/nope")
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "unknown_send")
        await sending.running.stop()
        await receiving.stop()
    }

    @Test(arguments: StorageBackend.allCases) func retiredAddressIsReportedAsFailedWith410(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let sending = try await SendingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)
        _ = try await receiving.retire(owner)

        let accepted = try await sending.send(receiving.sealed(owner.id), to: receiving)
        let status = try await sending.settled(accepted.id)
        #expect(status.state == .failed)
        #expect(status.outcome == .gone)
        #expect(status.attempts == 1)
        #expect(status.error?.contains("retired") == true)
        #expect(try await sending.storage.counts().withCiphertext == 0)
        await sending.running.stop()
        await receiving.stop()
    }

    @Test(arguments: StorageBackend.allCases) func queuedWhileTheReceivingServiceIsDownThenDelivered(backend: StorageBackend) async throws {
        let directory = temporaryDirectory("receiving-down")
        let receiving = try await ReceivingFixture.start(backend: backend, directory: directory)
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id, ciphertext: [5])
        let port = receiving.running.port
        let url = receiving.url
        await receiving.stop()

        let sending = try await SendingFixture.start(backend: backend)
        let accepted = try await sending.send(envelope, to: url, serviceKey: receiving.serviceKey)
        #expect(try await eventually { try await sending.status(accepted.id).attempts >= 2 })
        #expect(try await sending.status(accepted.id).state == .queued)

        let restarted = try await ReceivingFixture.start(backend: backend, directory: directory, port: port, database: receiving.database)
        #expect(try await sending.settled(accepted.id).state == .delivered)
        let messages = try await restarted.fetch(owner).decode(ServiceAPI.Messages.self).messages
        #expect(messages.map(\.ciphertext) == [Base64URL.encode([5])])
        await sending.running.stop()
        await restarted.stop()
    }

    @Test(arguments: StorageBackend.allCases) func retriesAreBounded(backend: StorageBackend) async throws {
        let sending = try await SendingFixture.start(
            backend: backend,
            forwarding: ForwardingPolicy(maximumAttempts: 3, initialBackoff: 0.01, maximumBackoff: 0.02, requestTimeout: 2, allowsPrivateTargets: true))
        let route = try Route(serviceURI: "http://127.0.0.1:1", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom()))
        let accepted = try await sending.send(
            Envelope(sealing: [1], to: route, random: SystemRandom()), to: route.serviceURI, serviceKey: route.serviceKey)
        let status = try await sending.settled(accepted.id)
        #expect(status.state == .failed)
        #expect(status.attempts == 3)
        #expect(status.outcome == .unreachable)
        await sending.running.stop()
    }

    @Test(arguments: StorageBackend.allCases) func outboxSurvivesARestartBeforeForwarding(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)
        let directory = temporaryDirectory("durable")

        let paused = try await SendingFixture.start(backend: backend, directory: directory, forwarding: ForwardingPolicy(isEnabled: false))
        let first = try await paused.send(receiving.sealed(owner.id, ciphertext: [1]), to: receiving)
        let second = try await paused.send(receiving.sealed(owner.id, ciphertext: [2]), to: receiving)
        await paused.running.stop()
        #expect(try await receiving.storage.counts().messages == 0)

        let resumed = try await SendingFixture.start(backend: backend, directory: directory, database: paused.database)
        #expect(try await resumed.settled(first.id).state == .delivered)
        #expect(try await resumed.settled(second.id).state == .delivered)
        let messages = try await receiving.fetch(owner).decode(ServiceAPI.Messages.self).messages
        #expect(Set(messages.map(\.ciphertext)) == [Base64URL.encode([1]), Base64URL.encode([2])])
        await resumed.running.stop()
        await receiving.stop()
    }

    /// The sending service's database, WAL and logs never hold an address, in any encoding.
    @Test func noAddressInTheSendingServicesFilesOrLogs() async throws {
        let receiving = try await ReceivingFixture.start()
        let logs = LogCapture()
        let directory = temporaryDirectory("no-address")
        let sending = try await SendingFixture.start(directory: directory, logs: logs)

        var owners: [Owner] = []
        var ids: [String] = []
        for index in 0..<6 {
            let owner = Owner()
            owners.append(owner)
            // One retired address, so that a refusal is logged and stored too.
            try await receiving.create(owner)
            if index == 0 { _ = try await receiving.retire(owner) }
            ids.append(try await sending.send(receiving.sealed(owner.id, ciphertext: Array("message \(index)".utf8)), to: receiving).id)
        }
        for id in ids { _ = try await sending.settled(id) }
        await sending.running.stop()

        var haystack: [UInt8] = Array(logs.text.utf8)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            haystack += try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
        }
        #expect(haystack.count > 1000)
        for owner in owners {
            let bytes = owner.id.bytes
            for needle in [bytes, Array(owner.id.hex.utf8), Array(owner.id.hex.uppercased().utf8), Array(Base64URL.encode(bytes).utf8)] {
                #expect(!contains(haystack, needle), "address \(owner.id.hex) found")
            }
        }
        await receiving.stop()
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBufferPointer { hay in
            (0...(hay.count - needle.count)).contains { start in
                hay[start] == needle[0] && Array(hay[start..<start + needle.count]) == needle
            }
        }
    }

    /// A target with all the requests it may have is left out of the outbox read, whatever the
    /// age of its messages: the others' are read even behind a long backlog of its own. The
    /// same service under another key is another target.
    @Test(arguments: StorageBackend.allCases) func aFullTargetIsLeftOutOfTheOutboxRead(backend: StorageBackend) async throws {
        let storage = try await backend.sendingStorage(directory: temporaryDirectory("full-target"), database: backend.database())
        let now = Date()
        let slowKey = [UInt8](repeating: 1, count: 32)
        let otherKey = [UInt8](repeating: 2, count: 32)
        func enqueue(_ id: String, _ service: String, _ key: [UInt8], _ age: TimeInterval) async throws {
            try await storage.enqueue(
                OutboxEntry(id: id, receivingService: service, serviceKey: key, sealedAddress: [1], ciphertext: [2]), now: now.addingTimeInterval(-age))
        }
        for index in 0..<20 { try await enqueue("slow-\(index)", "https://slow.example", slowKey, 100 - Double(index)) }
        try await enqueue("other-key", "https://slow.example", otherKey, 10)
        try await enqueue("other-service", "https://other.example", slowKey, 5)
        let slow = ForwardingTarget(receivingService: "https://slow.example", serviceKey: slowKey)

        let oldest = try await storage.dueEntries(now: now, excluding: [], limit: 5).map(\.id)
        #expect(oldest == (0..<5).map { "slow-\($0)" })
        if backend == .postgres { try await storage.release(oldest) }
        let others = try await storage.dueEntries(now: now, excluding: [], excludingTargets: [slow], limit: 5).map(\.id)
        #expect(others == ["other-key", "other-service"])
        await storage.close()
    }
}

@Suite struct SendingRetentionTests {
    @Test(arguments: StorageBackend.allCases) func settledStatusRowsArePurgedAfterTheirRetention(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        try await receiving.create(owner)
        let directory = temporaryDirectory("retention")
        let storage = try await backend.sendingStorage(directory: directory, database: backend.database())
        let clock = TestClock()
        let running = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: directory, forwarding: ForwardingPolicy(allowsPrivateTargets: true), statusRetention: 60, purgeInterval: 0.1,
                now: { clock.now() }),
            storage: storage)
        let envelope = try receiving.sealed(owner.id)
        let send = ServiceAPI.Send(
            receivingService: receiving.url, serviceKey: Base64URL.encode(receiving.serviceKey.rawRepresentation),
            sealedAddress: Base64URL.encode(envelope.sealedAddress),
            ciphertext: Base64URL.encode(envelope.ciphertext))
        let id = try await HTTP.request("POST", running.baseURL + "/v1/send", body: HTTP.json(send)).decode(ServiceAPI.SendStatus.self).id
        #expect(try await eventually { try await storage.counts().delivered == 1 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await HTTP.request("GET", running.baseURL + "/v1/send/\(id)").status == 200)

        clock.advance(by: 120)
        #expect(try await eventually { try await storage.counts().delivered == 0 })
        #expect(try await HTTP.request("GET", running.baseURL + "/v1/send/\(id)").status == 404)
        await running.stop()
        await receiving.stop()
    }

    @Test(arguments: StorageBackend.allCases) func queuedMessagesAreForwardedTogetherAndSettleOneByOne(backend: StorageBackend) async throws {
        let receiving = try await ReceivingFixture.start(backend: backend)
        let owner = Owner()
        let retired = Owner()
        try await receiving.create(owner)
        try await receiving.create(retired)
        _ = try await receiving.retire(retired)
        let directory = temporaryDirectory("batched")

        // Queued while forwarding is off, so that the restarted forwarder finds them all due at once.
        let paused = try await SendingServiceTests.SendingFixture.start(
            backend: backend, directory: directory, forwarding: ForwardingPolicy(isEnabled: false))
        var accepted: [ServiceAPI.SendStatus] = []
        for byte in UInt8(1)...20 { accepted.append(try await paused.send(receiving.sealed(owner.id, ciphertext: [byte]), to: receiving)) }
        let refused = try await paused.send(receiving.sealed(retired.id), to: receiving)
        await paused.running.stop()

        let resumed = try await SendingServiceTests.SendingFixture.start(backend: backend, directory: directory, database: paused.database)
        for status in accepted {
            let settled = try await resumed.settled(status.id)
            #expect(settled.state == .delivered)
            #expect(settled.attempts == 1)
        }
        let failed = try await resumed.settled(refused.id)
        #expect(failed.state == .failed)
        #expect(failed.outcome == .gone)
        let messages = try await receiving.fetch(owner).decode(ServiceAPI.Messages.self).messages
        #expect(Set(messages.map(\.ciphertext)) == Set((UInt8(1)...20).map { Base64URL.encode([$0]) }))
        #expect(try await resumed.storage.counts() == SendingStorageCounts(queued: 0, delivered: 20, failed: 1, withCiphertext: 0))
        await resumed.running.stop()
        await receiving.stop()
    }
}
