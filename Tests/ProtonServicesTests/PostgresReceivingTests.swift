import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// Several receiving-service instances on one PostgreSQL database behave as one service: the
/// quota is exact under concurrency, a long-poll at one instance wakes for a delivery at
/// another, ids never let a fetch skip a message, and instances must share the service key.
@Suite struct PostgresReceivingTests {
    /// Two instances on one new database; `limits` for both.
    private func twoInstances(limits: ReceivingServiceLimits = ReceivingServiceLimits()) async throws -> (ReceivingFixture, ReceivingFixture) {
        let directory = temporaryDirectory("receiving-pg")
        let first = try await ReceivingFixture.start(backend: .postgres, directory: directory, limits: limits)
        // The same data directory: the same service key, as an operator copies it to each.
        let second = try await ReceivingFixture.start(backend: .postgres, directory: directory, limits: limits, database: first.database)
        return (first, second)
    }

    @Test func concurrentDeliveriesAtTwoInstancesStopExactlyAtTheQuota() async throws {
        let quota = 100
        let (first, second) = try await twoInstances(limits: ReceivingServiceLimits(maximumMessagesPerAddress: quota))
        let owner = Owner()
        #expect(try await first.create(owner) == 201)
        let deliveries = try (0..<1_000).map { index in try (index.isMultiple(of: 2) ? first : second).delivery(owner.id, ciphertext: [UInt8(index & 0xff), 1]) }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, body) in deliveries.enumerated() {
                let url = (index.isMultiple(of: 2) ? first : second).url
                // 1,000 at once on a busy machine: some wait long for a connection of the pools,
                // and one past its 10 s is answered 503 and resent.
                group.addTask {
                    try await HTTP.resendingWhileUnavailable { try await HTTP.request("POST", url + "/v1/deliver", body: body, timeout: 120) }.status
                }
            }
            return try await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        }
        // A 200 is the resend of a delivery whose 503 had hidden its commit: stored once.
        #expect(statuses[202, default: 0] + statuses[200, default: 0] == quota)
        #expect(statuses[507] == 1_000 - quota && statuses.keys.allSatisfy { [200, 202, 507].contains($0) })
        #expect(try await first.storage.counts().messages == quota)
        // The metrics' depths come from the address's counter: it is the messages stored.
        #expect(try await first.storage.depths().messages == quota)
        var ids: [Int64] = []
        var after: Int64 = 0
        while true {
            let page = try await second.fetch(owner, after: after).decode(ServiceAPI.Messages.self).messages
            guard let last = page.last else { break }
            ids += page.map(\.id)
            after = last.id
        }
        #expect(ids == Array(1...Int64(quota)))
        await first.stop()
        await second.stop()
    }

    @Test func aLongPollAtOneInstanceWakesForADeliveryAtAnother() async throws {
        let (first, second) = try await twoInstances(limits: ReceivingServiceLimits(maximumWait: 60))
        try await expectLongPollWakes(at: first, forADeliveryAt: second)
    }

    /// A long-poll of 60 s at `first` returns the message delivered at `second` well before.
    private func expectLongPollWakes(at first: ReceivingFixture, forADeliveryAt second: ReceivingFixture) async throws {
        let owner = Owner()
        try await first.create(owner)
        let started = Date()
        async let poll = first.fetch(owner, wait: 60)
        await first.longPollWaiting()
        #expect(try await second.deliver(owner.id, ciphertext: [4, 2]).status == 202)
        let messages = try await poll.decode(ServiceAPI.Messages.self).messages
        #expect(messages.map(\.ciphertext) == [Base64URL.encode([4, 2])])
        #expect(Date().timeIntervalSince(started) < 30, "woken by the delivery, not at the deadline")
        await first.stop()
        await second.stop()
    }

    /// A listening connection that falls silent without closing (its backend stopped with
    /// SIGSTOP: the socket stays open and nothing arrives) is noticed by the instance's own
    /// checks and replaced, and long-polls wake for deliveries at another instance again.
    @Test func aSilentListeningConnectionIsReplaced() async throws {
        let database = try #require(try await StorageBackend.postgres.database())
        let directory = temporaryDirectory("receiving-pg")
        let limits = ReceivingServiceLimits(maximumWait: 60)
        func storage() async throws -> PostgresReceivingStorage { try await PostgresReceivingStorage.open(database, listenerCheck: .milliseconds(500)) }
        let first = try await ReceivingFixture.start(backend: .postgres, directory: directory, limits: limits, database: database, storage: storage())
        let second = try await ReceivingFixture.start(backend: .postgres, directory: directory, limits: limits, database: database, storage: storage())
        let listeners = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' ORDER BY pid"
        func waitForListeners(except stopped: Set<Int64>) async throws -> [Int64] {
            let deadline = Date().addingTimeInterval(30)
            while true {
                let live = try await PostgresAdministration.integers(listeners, in: database).filter { !stopped.contains($0) }
                if live.count == 2 || Date() > deadline { return live }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let stopped = Set(try await waitForListeners(except: []))
        #expect(stopped.count == 2)
        try await ClusterPause.shared.exclusively {
            for pid in stopped { kill(pid_t(pid), SIGSTOP) }
            defer { for pid in stopped { kill(pid_t(pid), SIGCONT) } }
            #expect(try await waitForListeners(except: stopped).count == 2, "each instance listens on a new connection")
            try await expectLongPollWakes(at: first, forADeliveryAt: second)
        }
    }

    /// A reader that fetches after the last id it saw and acknowledges it, while deliveries
    /// commit concurrently at two instances, sees every message exactly once.
    @Test func aFetchCursorNeverSkipsAMessageCommittedConcurrently() async throws {
        let (first, second) = try await twoInstances()
        let owner = Owner()
        try await first.create(owner)
        let total = 300
        let bodies = try (0..<total).map { try first.delivery(owner.id, ciphertext: Array("m\($0)".utf8)) }
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // 32 in flight, 16 at each instance (its pool's connections), all on one
                // address's row. 300 at once kept the reader's fetch queued behind the writers
                // for minutes in a loaded CI run; the property needs concurrency, not a flood.
                for (index, body) in bodies.enumerated() {
                    if index >= 32 { try await group.next() }
                    let url = (index.isMultiple(of: 2) ? first : second).url
                    group.addTask {
                        let status = try await HTTP.resendingWhileUnavailable {
                            try await HTTP.request("POST", url + "/v1/deliver", body: body, timeout: 60)
                        }.status
                        // 200: a resend after a 503 whose commit had gone through.
                        #expect(status == 202 || status == 200)
                    }
                }
                try await group.waitForAll()
            }
        }
        var seen: [String] = []
        var after: Int64 = 0
        let deadline = Date().addingTimeInterval(300)
        while seen.count < total, Date() < deadline {
            let page = try await HTTP.resendingWhileUnavailable { try await first.fetch(owner, after: after) }
                .decode(ServiceAPI.Messages.self).messages
            guard let last = page.last else { continue }
            seen += page.map { String(decoding: (try? Base64URL.decode($0.ciphertext, limit: 64)) ?? [], as: UTF8.self) }
            after = last.id
            #expect(try await HTTP.resendingWhileUnavailable { try await second.acknowledge(owner, upTo: after) }.status == 204)
        }
        try await writers.value
        #expect(seen.count == total)
        #expect(Set(seen) == Set((0..<total).map { "m\($0)" }))
        #expect(try await first.storage.counts().messages == 0)
        await first.stop()
        await second.stop()
    }

    @Test func anInstanceWithAnotherServiceKeyDoesNotStart() async throws {
        let first = try await ReceivingFixture.start(backend: .postgres)
        await #expect {
            _ = try await ReceivingFixture.start(backend: .postgres, directory: temporaryDirectory("other-key"), database: first.database)
        } throws: { error in
            (error as? PostgresDatabaseError)?.description.contains("same DIR/service-key") == true
        }
        await first.stop()
    }

    @Test func aDatabaseMigratedByANewerVersionIsRefused() async throws {
        let database = try await TestPostgres.newDatabase()
        let storage = try await PostgresReceivingStorage.open(database)
        await storage.close()
        try await PostgresAdministration.execute(
            "INSERT INTO proton_migration (service, name, applied_at) VALUES ('receiving', 'v99 from the future', 0)", in: database)
        await #expect {
            _ = try await PostgresReceivingStorage.open(database)
        } throws: { error in
            "\(error)".contains("v99 from the future")
        }
        // Applied once however many instances start together.
        let opened = try await withThrowingTaskGroup(of: Void.self) { group in
            let fresh = try await TestPostgres.newDatabase()
            for _ in 0..<4 { group.addTask { try await PostgresReceivingStorage.open(fresh).close() } }
            try await group.waitForAll()
            return try await PostgresAdministration.integers("SELECT COUNT(*) FROM proton_migration", in: fresh)
        }
        #expect(opened.count == 1 && opened[0] >= 1)
    }

    /// With its database gone, a service answers 503 `storage_unavailable` and says nothing
    /// of the database.
    @Test func aLostDatabaseIsServiceUnavailable() async throws {
        let service = try await ReceivingFixture.start(backend: .postgres)
        let owner = Owner()
        try await service.create(owner)
        let database = try #require(service.database)
        var cluster = database
        cluster.database = "postgres"
        try await ClusterPause.shared.exclusively {
            try await PostgresAdministration.execute("DROP DATABASE \(database.database) WITH (FORCE)", in: cluster)
        }
        let started = Date()
        let delivery = try await service.deliver(owner.id)
        #expect(delivery.status == 503)
        #expect(delivery.errorCode == "storage_unavailable")
        #expect(!String(decoding: delivery.body, as: UTF8.self).lowercased().contains("postgres"))
        let fetch = try await service.fetch(owner)
        #expect(fetch.status == 503)
        #expect(Date().timeIntervalSince(started) < 30)
        await service.stop()
    }

    /// A delivery waiting on a row lock held past the 10 s deadline is answered 503 while the
    /// lock is still held, and PostgreSQL cancels its statement: it does not commit after its
    /// 503. Resent once the lock is free, it is stored once.
    @Test func aRowLockHeldPastTheDeadlineIsA503ThatStoresNothing() async throws {
        let service = try await ReceivingFixture.start(backend: .postgres)
        let owner = Owner()
        try await service.create(owner)
        let database = try #require(service.database)
        let held = 25.0
        // An operator's session (no statement timeout) locks the address's row, then sleeps
        // 25 s holding it (the lock in the subquery: a sleep in the locking query's own select
        // list would run before its rows are locked). One row: the lock was taken.
        let holder = Task {
            try await PostgresAdministration.integers(
                """
                SELECT octet_length(pg_sleep(\(held))::text)::bigint + 1 FROM (SELECT id FROM receiving_address
                    WHERE id = '\\x\(owner.id.bytes.map { String(format: "%02x", $0) }.joined())' FOR UPDATE) AS locked
                """, in: database)
        }
        try await Task.sleep(for: .seconds(1))
        let started = Date()
        let body = try service.delivery(owner.id, ciphertext: [7])
        let answer = try await HTTP.request("POST", service.url + "/v1/deliver", body: body, timeout: 60)
        let waited = Date().timeIntervalSince(started)
        #expect(answer.status == 503)
        #expect(answer.errorCode == "storage_unavailable")
        #expect(waited < held - 3, "answered while the lock was held, not when it came free (\(waited) s)")
        #expect(try await holder.value == [1])
        #expect(try await service.storage.counts().messages == 0, "the cancelled statement committed nothing")
        #expect(try await HTTP.request("POST", service.url + "/v1/deliver", body: body).status == 202)
        #expect(try await service.storage.counts().messages == 1)
        await service.stop()
    }

    /// A connection that falls silent (its server process stopped: the socket stays open and
    /// nothing arrives, as when a host hangs or a network drops everything) holds a call only
    /// until its deadline and the time given to a statement the server is running: the call
    /// fails as unavailable about 25 s after it began, not when the connection answers again.
    @Test func aCallOnAConnectionThatFallsSilentIsGivenUp() async throws {
        let database = try await TestPostgres.newDatabase()
        let storage = try await PostgresReceivingStorage.open(database)
        _ = try await storage.counts()
        // The pool's connections (the one that answered, idle now), not this query's own.
        let backends = try await PostgresAdministration.integers(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()", in: database)
        #expect(!backends.isEmpty)
        let waited = await ClusterPause.shared.exclusively {
            for pid in backends { kill(pid_t(pid), SIGSTOP) }
            let resume = Task {
                try? await Task.sleep(for: .seconds(60))
                for pid in backends { kill(pid_t(pid), SIGCONT) }
            }
            let started = Date()
            await #expect(throws: (any Error).self) { _ = try await storage.counts() }
            let waited = Date().timeIntervalSince(started)
            resume.cancel()
            for pid in backends { kill(pid_t(pid), SIGCONT) }
            return waited
        }
        #expect(waited > 9 && waited < 40, "given up after \(waited) s")
        #expect(try await storage.counts().messages == 0, "the pool serves again")
        await storage.close()
    }

    /// One sweep removes a backlog larger than one statement's chunk (here 2.5 chunks of
    /// expired nonces and replay tags), in statements that each stay within the timeout.
    @Test func oneSweepWorksOffABacklogOfManyChunks() async throws {
        let database = try await TestPostgres.newDatabase()
        let storage = try await PostgresReceivingStorage.open(database)
        let backlog = 25_000  // chunks of 10,000
        let now = Date()
        let expired = Int64(now.timeIntervalSince1970) - 3 * 3600
        try await PostgresAdministration.execute(
            "INSERT INTO receiving_nonce SELECT int8send(n), \(expired) FROM generate_series(1, \(backlog)) AS n", in: database)
        try await PostgresAdministration.execute(
            "INSERT INTO receiving_seen_envelope SELECT int8send(n), \(expired) FROM generate_series(1, \(backlog)) AS n", in: database)
        let swept = try await storage.sweep(messagesBefore: now.addingTimeInterval(-3600), now: now)
        #expect(swept.nonces == backlog)
        #expect(try await PostgresAdministration.integers("SELECT COUNT(*) FROM receiving_seen_envelope", in: database) == [0])
        #expect(try await storage.counts().nonces == 0)
        await storage.close()
    }

    @Test func databaseURLs() throws {
        let tcp = try #require(PostgresLocation("postgres://relay:s%40cret@db.example.org:6543/proton"))
        #expect(tcp.endpoint == .tcp(host: "db.example.org", port: 6543))
        #expect(tcp.username == "relay")
        #expect(tcp.password == "s@cret")
        #expect(tcp.database == "proton")
        #expect(tcp.requiresTLS)
        #expect(!tcp.description.contains("cret"))
        let local = try #require(PostgresLocation("postgresql://relay@127.0.0.1/proton"))
        #expect(local.endpoint == .tcp(host: "127.0.0.1", port: 5432))
        #expect(!local.requiresTLS)
        let socket = try #require(PostgresLocation("postgres://relay@/proton?host=/run/postgresql&port=5433"))
        #expect(socket.endpoint == .unixSocket(directory: "/run/postgresql", port: 5433))
        #expect(PostgresLocation("postgres://relay@db.example.org/proton?sslmode=disable")?.requiresTLS == false)
        // Decoded once: a password with a % in it stays as written.
        #expect(PostgresLocation("postgres://relay:50%25off@db.example.org/proton")?.password == "50%off")
        #expect(PostgresLocation("postgres://relay:ab%2541@db.example.org/proton")?.password == "ab%41")
        // A name that starts like a loopback address is no loopback address.
        #expect(PostgresLocation("postgres://relay@127.db.example.org/proton")?.requiresTLS == true)
        #expect(PostgresLocation("postgres://relay@127.0.0.2/proton")?.requiresTLS == false)
        for bad in [
            "mysql://relay@db/proton", "postgres://db.example.org/proton", "postgres://relay@db.example.org/", "postgres://relay@db/a/b",
            "postgres://relay@db/proton?sslmode=allow", "postgres://relay@db/proton?options=-c", "postgres://relay@db:0/proton",
            "postgres://relay@/proton?host=relative", "postgres://relay@db/proton?sslmode=require&sslmode=disable",
            "postgres://relay@db/" + String(repeating: "x", count: 2_100),
        ] {
            #expect(PostgresLocation(bad) == nil, "\(bad)")
        }
    }
}
