import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// The operator's listener: metrics that count what happened, without an address, a key or a
/// send id in them; health; readiness that follows the storage.
@Suite struct ServiceMetricsTests {
    /// The first scrape that shows every one of `needles`: a scrape waits at most 2 s for the
    /// queue depths and otherwise shows an earlier read's, as it may on a loaded machine.
    static func scrape(_ admin: String, showing needles: [String]) async throws -> String {
        var text = ""
        let shown = try await eventually(timeout: 60) {
            text = String(decoding: try await HTTP.request("GET", admin + "/metrics").body, as: UTF8.self)
            return needles.allSatisfy { text.contains($0) }
        }
        #expect(shown, "the depths \(needles) never shown")
        return text
    }

    /// The directory's operator listener: requests by route pattern, the log's size and the
    /// operator's queue, and no name in any label.
    @Test(arguments: StorageBackend.allCases) func theDirectoryCountsRequestsTheLogAndPendingNamesAndNamesNoName(backend: StorageBackend) async throws {
        let data = temporaryDirectory("metrics-directory")
        let database = try await backend.database()
        let directory = try await DirectoryService.start(
            configuration: DirectoryServiceConfiguration(
                namespace: "example.org", policy: .approve, dataDirectory: data, database: database,
                adminListen: ListenAddress(host: "127.0.0.1", port: 0)))
        let admin = "http://127.0.0.1:\(try #require(directory.adminPort))"
        #expect(try await HTTP.request("GET", directory.baseURL + "/v1/directory/names/zelda").status == 404)
        // The operator's side, on the same storage.
        let registry = try await DirectoryRegistry.open(dataDirectory: data, namespace: nil, database: database)
        #expect(try await registry.register(name: "yannick", identityKey: Ed25519.PrivateKey().publicKey, policy: .approve, now: Date()) == .pending)
        let waiting = try await Self.scrape(
            admin, showing: [#"proton_pending_registrations{service="directory"} 1"#, #"proton_log_leaves{service="directory"} 0"#])
        #expect(waiting.contains(#"proton_http_requests_total{service="directory",route="/v1/directory/names/{name}",method="GET",status="404"} 1"#))
        #expect(waiting.contains(#"proton_pending_registrations{service="directory"} 1"#))
        #expect(waiting.contains(#"proton_log_leaves{service="directory"} 0"#))
        _ = try await registry.approve(name: "yannick", now: Date())
        registry.close()
        let approved = try await Self.scrape(
            admin, showing: [#"proton_pending_registrations{service="directory"} 0"#, #"proton_log_leaves{service="directory"} 1"#])
        #expect(approved.contains(#"proton_pending_registrations{service="directory"} 0"#))
        #expect(approved.contains(#"proton_log_leaves{service="directory"} 1"#))
        for needle in ["zelda", "yannick"] { #expect(!approved.contains(needle), "\(needle) in the metrics") }
        #expect(try await HTTP.request("GET", admin + "/ready").status == 200)
        await directory.stop()
    }

    @Test(arguments: StorageBackend.allCases) func metricsCountRequestsForwardingAndQueuesAndNameNoAddress(backend: StorageBackend) async throws {
        let directory = temporaryDirectory("metrics")
        let receivingDatabase = try await backend.database()
        let storage = try await backend.receivingStorage(directory: directory, database: receivingDatabase)
        let receiving = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(
                dataDirectory: directory, database: receivingDatabase, adminListen: ListenAddress(host: "127.0.0.1", port: 0)),
            storage: storage)
        let info = try await HTTP.request("GET", receiving.baseURL + "/v1/info").decode(ServiceAPI.ServiceInfo.self)
        let key = try SealedBox.PublicKey(rawRepresentation: Base64URL.decode(info.publicKey, limit: 32))

        let sendingDirectory = temporaryDirectory("metrics-sending")
        let sendingDatabase = try await backend.database()
        let sending = try await SendingService.start(
            configuration: SendingServiceConfiguration(
                dataDirectory: sendingDirectory, forwarding: ForwardingPolicy(allowsPrivateTargets: true), database: sendingDatabase,
                adminListen: ListenAddress(host: "127.0.0.1", port: 0)),
            storage: backend.sendingStorage(directory: sendingDirectory, database: sendingDatabase))

        let owner = Owner()
        let create = try await HTTP.request(
            "POST", receiving.baseURL + "/v1/addresses", body: owner.createBody, headers: owner.headers("POST", "/v1/addresses", body: owner.createBody))
        #expect(create.status == 201)
        let envelope = try Envelope(sealing: [1, 2, 3], to: Route(serviceURI: receiving.baseURL, serviceKey: key, address: owner.id), random: SystemRandom())
        let send = HTTP.json(
            ServiceAPI.Send(
                receivingService: receiving.baseURL, serviceKey: Base64URL.encode(key.rawRepresentation),
                sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
        let accepted = try await HTTP.request("POST", sending.baseURL + "/v1/send", body: send).decode(ServiceAPI.SendStatus.self)
        #expect(try await eventually {
            try await HTTP.request("GET", sending.baseURL + "/v1/send/\(accepted.id)").decode(ServiceAPI.SendStatus.self).state == .delivered
        })
        let path = "/v1/addresses/\(owner.pathID)/messages"
        #expect(try await HTTP.request("GET", receiving.baseURL + path, headers: owner.headers("GET", path)).status == 200)
        #expect(try await HTTP.request("GET", receiving.baseURL + "/v1/addresses/\(owner.pathID)/nothing-here").status == 404)

        let receivingAdmin = "http://127.0.0.1:\(try #require(receiving.adminPort))"
        let sendingAdmin = "http://127.0.0.1:\(try #require(sending.adminPort))"
        let receivingMetrics = try await Self.scrape(receivingAdmin, showing: [#"proton_queued_messages{service="receiving"} 1"#])
        let sendingMetrics = try await Self.scrape(sendingAdmin, showing: [#"proton_outbox_queued{service="sending"} 0"#])
        #expect(receivingMetrics.contains(#"proton_http_requests_total{service="receiving",route="/v1/addresses",method="POST",status="201"} 1"#))
        #expect(receivingMetrics.contains(#"proton_http_requests_total{service="receiving",route="/v1/addresses/{address}/messages",method="GET",status="200"} 1"#))
        #expect(receivingMetrics.contains(#"route="NotFound",method="GET",status="404"} 1"#))
        #expect(receivingMetrics.contains(#"proton_queued_messages{service="receiving"} 1"#))
        #expect(sendingMetrics.contains(#"proton_forwarding_results_total{service="sending",outcome="delivered"} 1"#))
        #expect(sendingMetrics.contains(#"proton_delivery_latency_seconds_count{service="sending"} 1"#))
        #expect(sendingMetrics.contains(#"proton_outbox_queued{service="sending"} 0"#))
        for text in [receivingMetrics, sendingMetrics] {
            for needle in [owner.id.hex, owner.pathID, Base64URL.encode(key.rawRepresentation), accepted.id, "127.0.0.1"] {
                #expect(!text.contains(needle), "\(needle) in the metrics")
            }
        }
        #expect(try await HTTP.request("GET", receivingAdmin + "/health").status == 200)
        #expect(try await HTTP.request("GET", receivingAdmin + "/ready").status == 200)
        // The public listener has none of it.
        #expect(try await HTTP.request("GET", receiving.baseURL + "/metrics").status == 404)

        if let receivingDatabase {
            var cluster = receivingDatabase
            cluster.database = "postgres"
            try await ClusterPause.shared.exclusively {
                try await PostgresAdministration.execute("DROP DATABASE \(receivingDatabase.database) WITH (FORCE)", in: cluster)
            }
            #expect(try await HTTP.request("GET", receivingAdmin + "/ready").status == 503)
            #expect(try await HTTP.request("GET", receivingAdmin + "/health").status == 200)
        }
        await sending.stop()
        await receiving.stop()
    }

    /// A database that does not answer costs a scrape its queue depths, not the scrape: the
    /// request counters come within the depths' wait (2 s), far inside Prometheus's 10 s
    /// timeout, with the depths of the last read that finished; a scrape after the database
    /// answers again shows the depths of now.
    @Test func aScrapeAnswersWhileTheDatabaseDoesNot() async throws {
        let directory = temporaryDirectory("metrics-silent")
        let database = try await StorageBackend.postgres.database()
        let storage = try await StorageBackend.postgres.receivingStorage(directory: directory, database: database)
        let receiving = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(
                dataDirectory: directory, database: database, adminListen: ListenAddress(host: "127.0.0.1", port: 0)),
            storage: storage)
        let admin = "http://127.0.0.1:\(try #require(receiving.adminPort))"
        #expect(try await HTTP.request("GET", admin + "/metrics").status == 200)
        let owner = Owner()
        let create = try await HTTP.request(
            "POST", receiving.baseURL + "/v1/addresses", body: owner.createBody, headers: owner.headers("POST", "/v1/addresses", body: owner.createBody))
        #expect(create.status == 201)

        let backends = try await PostgresAdministration.integers(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()", in: try #require(database))
        let (stale, waited) = try await ClusterPause.shared.exclusively {
            for pid in backends { kill(pid_t(pid), SIGSTOP) }
            let resume = Task {
                try? await Task.sleep(for: .seconds(60))
                for pid in backends { kill(pid_t(pid), SIGCONT) }
            }
            defer {
                resume.cancel()
                for pid in backends { kill(pid_t(pid), SIGCONT) }
            }
            let started = Date()
            let stale = String(decoding: try await HTTP.request("GET", admin + "/metrics", timeout: 60).body, as: UTF8.self)
            return (stale, Date().timeIntervalSince(started))
        }
        #expect(waited < 8, "the scrape took \(waited) s")
        #expect(stale.contains(#"route="/v1/addresses",method="POST",status="201"} 1"#))
        #expect(stale.contains(#"proton_addresses{service="receiving"} 0"#), "the depths of the last read that finished")

        #expect(try await eventually(timeout: 60) {
            String(decoding: try await HTTP.request("GET", admin + "/metrics").body, as: UTF8.self).contains(#"proton_addresses{service="receiving"} 1"#)
        })
        await receiving.stop()
    }
}
