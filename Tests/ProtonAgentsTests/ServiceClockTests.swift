import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonServices
import Testing

/// A client whose clock is off the receiving service's: within an hour it takes the service's
/// time from the `stale_request` refusal and signs again; past that it is told by how much.
struct ServiceClockTests {
    private static func service(clockAhead seconds: TimeInterval) async throws -> RunningService {
        try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(
                dataDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("service-clock-\(UUID().uuidString)"),
                now: { Date().addingTimeInterval(seconds) }))
    }

    @Test(arguments: [600.0, -600.0, 3000.0])
    func aClockOffByLessThanAnHourStillFetches(_ serviceAhead: TimeInterval) async throws {
        let receiving = try await Self.service(clockAhead: serviceAhead)
        defer { Task { await receiving.stop() } }
        let client = ReceivingServiceClient(serviceURI: receiving.baseURL)
        let address = OwnedAddress(random: SystemRandom())
        try await client.createAddress(address)
        #expect(try await client.fetch(address, after: 0, wait: 0).isEmpty)
        try await client.acknowledge(address, upTo: 0)
        // Taken once, for the service: the next requests are signed on its time at once.
        let corrected = ServiceClock.now(for: receiving.baseURL).timeIntervalSinceNow
        #expect(abs(corrected - serviceAhead) < 5)
    }

    @Test func aClockOffByMoreThanAnHourIsSaidToBeWithHowFar() async throws {
        let receiving = try await Self.service(clockAhead: -2 * 3600 - 10 * 60)
        defer { Task { await receiving.stop() } }
        let client = ReceivingServiceClient(serviceURI: receiving.baseURL)
        await #expect {
            try await client.createAddress(OwnedAddress(random: SystemRandom()))
        } throws: { error in
            guard case RelayError.rejected(401, let reason) = error else { return false }
            return reason.contains("clock") && reason.contains("2 hours 10 minutes ahead of the service's")
        }
        #expect(abs(ServiceClock.now(for: receiving.baseURL).timeIntervalSinceNow) < 1)
    }

    /// Concurrent requests signed before the first correction are all refused together; each
    /// signs again on the correction whichever answer came first set (a fault run fetching
    /// several addresses at once lost rounds, and presented 3 of 2,000 messages late, when
    /// only the request that set the correction signed again).
    @Test func concurrentRequestsAllSignAgain() async throws {
        let receiving = try await Self.service(clockAhead: 600)
        defer { Task { await receiving.stop() } }
        let client = ReceivingServiceClient(serviceURI: receiving.baseURL)
        let addresses = (0..<12).map { _ in OwnedAddress(random: SystemRandom()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for address in addresses { group.addTask { try await client.createAddress(address) } }
            try await group.waitForAll()
        }
        #expect(abs(ServiceClock.now(for: receiving.baseURL).timeIntervalSinceNow - 600) < 5)
    }
}
