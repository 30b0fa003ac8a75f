import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// An operation ran out of its time and was cancelled.
public struct DeadlineExceeded: Error {
    public init() {}
}

/// Runs `operation`, cancelling it if it has not finished after `seconds`. AsyncHTTPClient's own
/// deadline ends when the response head arrives, so a peer that sends its headers and then
/// trickles or withholds the body would hold a request forever; this bounds the whole exchange,
/// body included (the body's iterator stops the request when its task is cancelled).
///
/// Every request a service receives and every request a client sends passes through here, so it
/// is built to cost little: the operation runs in one task, and the deadline is a timer on an
/// event loop that cancels it (cancelled in turn when the operation ends first), rather than a
/// task group with a second, sleeping task (two tasks, and a dispatch timer that stays armed for
/// the whole deadline even after the operation has ended). The caller waits for the operation
/// either way: a cancelled operation ends when it next checks for cancellation.
///
/// Returns the operation's value whenever it has one, even if the deadline passed while it was
/// being produced; throws `DeadlineExceeded` when the operation failed after the deadline, and
/// the operation's own error otherwise. Cancelling the caller cancels the operation.
public func withDeadline<Value: Sendable>(_ seconds: TimeInterval, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let task = Task { try await operation() }
    let expiry = DeadlineExpiry()
    // Not a number or negative: expired at once, as zero; beyond 10^9 s (and infinity): never.
    let nanoseconds: Int64 = seconds > 1e9 ? .max : seconds > 0 ? Int64(seconds * 1e9) : 0
    let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(nanoseconds)) {
        expiry.passed.store(true, ordering: .releasing)
        task.cancel()
    }
    defer { timer.cancel() }
    do {
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    } catch {
        if expiry.passed.load(ordering: .acquiring) { throw DeadlineExceeded() }
        throw error
    }
}

private final class DeadlineExpiry: Sendable {
    let passed = Atomic<Bool>(false)
}
