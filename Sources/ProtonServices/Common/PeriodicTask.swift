import Foundation
import Logging
import ServiceLifecycle

/// Runs `work` every `interval` until graceful shutdown: the receiving service's expiry sweep,
/// the sending service's purge of old status rows.
struct PeriodicTask: Service {
    let interval: TimeInterval
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                do { try await work() } catch { logger.error("periodic task failed", metadata: ["error": "\(type(of: error))"]) }
            }
        }
    }
}
