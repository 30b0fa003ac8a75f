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
        #expect(try await PostgresAdministration.integers("SELECT claims FROM sending_outbox ORDER BY id", in: database) == [2, 2, 2, 2, 2])
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
}
