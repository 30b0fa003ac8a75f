import Foundation
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// Several sending-service instances on one PostgreSQL outbox: each message is forwarded by
/// exactly one of them, and the messages a dead instance had taken are taken over.
@Suite struct PostgresSendingTests {
    typealias SendingFixture = SendingServiceTests.SendingFixture

    @Test func twoInstancesForwardEachMessageOnce() async throws {
        let receiving = try await ReceivingFixture.start(backend: .postgres)
        let owner = Owner()
        try await receiving.create(owner)
        let database = try await TestPostgres.newDatabase()
        // Queued at both while neither forwards, so that both forwarders then find every
        // message due at the same moment and compete for them.
        let paused = ForwardingPolicy(isEnabled: false)
        var queued: [String] = []
        for half in 0..<2 {
            let instance = try await SendingFixture.start(backend: .postgres, forwarding: paused, database: database)
            for index in 0..<200 {
                queued.append(try await instance.send(receiving.sealed(owner.id, ciphertext: [UInt8(half), UInt8(index)]), to: receiving).id)
            }
            await instance.running.stop()
        }
        let first = try await SendingFixture.start(backend: .postgres, database: database)
        let second = try await SendingFixture.start(backend: .postgres, database: database)
        #expect(try await eventually(timeout: 60) { try await first.storage.counts().delivered == queued.count })
        #expect(try await PostgresAdministration.integers("SELECT COUNT(*) FROM sending_outbox WHERE forwards <> 1", in: database) == [0])
        #expect(try await second.storage.counts() == SendingStorageCounts(queued: 0, delivered: 400, failed: 0, withCiphertext: 0))
        #expect(try await receiving.storage.counts().messages == 400)
        await first.running.stop()
        await second.running.stop()
        await receiving.stop()
    }

    @Test func messagesADeadInstanceHadTakenAreTakenOverAfterTheLease() async throws {
        let receiving = try await ReceivingFixture.start(backend: .postgres)
        let owner = Owner()
        try await receiving.create(owner)
        let database = try await TestPostgres.newDatabase()
        let paused = try await SendingFixture.start(backend: .postgres, forwarding: ForwardingPolicy(isEnabled: false), database: database)
        var ids: [String] = []
        for index in 0..<5 { ids.append(try await paused.send(receiving.sealed(owner.id, ciphertext: [UInt8(index)]), to: receiving).id) }
        await paused.running.stop()

        // An instance takes them all, then stalls (as if stopped, or killed) before recording.
        let stalled = try await PostgresSendingStorage.open(database, claimLease: 2)
        #expect(try await stalled.dueEntries(now: Date(), excluding: [], limit: 10).count == 5)

        let started = Date()
        let survivor = try await SendingFixture.start(backend: .postgres, database: database)
        for id in ids { #expect(try await survivor.settled(id).state == .delivered) }
        #expect(Date().timeIntervalSince(started) >= 1.5)
        // Taken by the stalled instance, then by the survivor (again after a deferral, if its
        // first contact with the receiving service made it wait).
        let claims = try await PostgresAdministration.integers("SELECT claims FROM sending_outbox ORDER BY id", in: database)
        #expect(claims.count == 5 && claims.allSatisfy { $0 >= 2 }, "claims \(claims)")
        #expect(try await PostgresAdministration.integers("SELECT forwards FROM sending_outbox ORDER BY id", in: database) == [1, 1, 1, 1, 1])
        #expect(try await receiving.storage.counts().messages == 5)

        // The stalled instance wakes and records what it thinks happened: its claims were
        // taken over, so nothing changes.
        try await stalled.record(
            ids.map { ForwardingResult(id: $0, attempts: 9, settlement: .failed(.refused, error: "late")) }, now: Date())
        #expect(try await survivor.storage.counts() == SendingStorageCounts(queued: 0, delivered: 5, failed: 0, withCiphertext: 0))
        #expect(try await PostgresAdministration.integers("SELECT forwards FROM sending_outbox ORDER BY id", in: database) == [2, 2, 2, 2, 2])
        await stalled.close()
        await survivor.running.stop()
        await receiving.stop()
    }

    /// What a forwarder took but will not send now goes back at once, and only under its claim.
    @Test func releasedEntriesAreFreeAtOnceForAnotherInstance() async throws {
        let database = try await TestPostgres.newDatabase()
        let first = try await PostgresSendingStorage.open(database)
        let second = try await PostgresSendingStorage.open(database)
        let now = Date()
        for index in 0..<5 {
            try await first.enqueue(
                OutboxEntry(id: "m\(index)", receivingService: "http://127.0.0.1:1", serviceKey: [UInt8](repeating: 1, count: 32),
                    sealedAddress: [UInt8](repeating: 2, count: 80), ciphertext: [3]), now: now)
        }
        let taken = try await first.dueEntries(now: now, excluding: [], limit: 10).map(\.id).sorted()
        #expect(taken == ["m0", "m1", "m2", "m3", "m4"])
        #expect(try await second.dueEntries(now: now, excluding: [], limit: 10).isEmpty)
        // Another instance's release of ids it never took changes nothing.
        try await second.release(["m0", "m1"])
        try await first.release(["m3", "m4"])
        #expect(try await second.dueEntries(now: now, excluding: [], limit: 10).map(\.id).sorted() == ["m3", "m4"])
        // An id this instance is forwarding is never claimed again here.
        try await first.release(["m0"])
        #expect(try await first.dueEntries(now: now, excluding: ["m0"], limit: 10).isEmpty)
        await first.close()
        await second.close()
    }
}
