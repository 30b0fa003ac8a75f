import Foundation

/// An operation ran out of its time and was cancelled.
public struct DeadlineExceeded: Error {
    public init() {}
}

/// Runs `operation`, cancelling it if it has not finished after `seconds`. AsyncHTTPClient's own
/// deadline ends when the response head arrives, so a peer that sends its headers and then
/// trickles or withholds the body would hold a request forever; this bounds the whole exchange,
/// body included (the body's iterator stops the request when its task is cancelled).
public func withDeadline<Value: Sendable>(_ seconds: TimeInterval, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
    try await withThrowingTaskGroup(of: Value.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int64(max(0, seconds) * 1000)))
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw DeadlineExceeded() }
        return first
    }
}
