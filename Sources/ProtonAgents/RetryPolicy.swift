import Foundation
import ProtonStore

/// How long the send agent waits before trying an undelivered message again: doubling from
/// `initialDelay` up to `maximumDelay`. Counted from the outbox's stored attempts, so the
/// backoff carries across process restarts.
public struct RetryPolicy: Sendable, Equatable {
    public var initialDelay: TimeInterval
    public var maximumDelay: TimeInterval

    public init(initialDelay: TimeInterval = 2, maximumDelay: TimeInterval = 900) {
        self.initialDelay = max(0, initialDelay)
        self.maximumDelay = max(self.initialDelay, maximumDelay)
    }

    /// The wait after `attempts` failed attempts.
    public func delay(afterAttempts attempts: Int) -> TimeInterval {
        guard attempts > 0 else { return 0 }
        return min(maximumDelay, initialDelay * pow(2, Double(min(attempts - 1, 30))))
    }

    public func isDue(_ item: OutboxItem, now: Date) -> Bool {
        guard let last = item.lastAttempt else { return true }
        return now >= last.addingTimeInterval(delay(afterAttempts: item.attempts))
    }
}
