import Foundation

extension Process {
    /// Starts the process and waits for it to exit without holding a thread of Swift's
    /// concurrency pool. That pool has one thread per core — two on the build machines — and the
    /// services that tests start in-process answer on it: a test blocked in `waitUntilExit()`
    /// while its child talks to such a service (or two such tests at once) starved them until
    /// every HTTP deadline in the run expired.
    public func runUntilExit() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            terminationHandler = { _ in continuation.resume() }
            do {
                try run()
            } catch {
                terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    /// Waits for a process already started to exit, off the concurrency pool.
    public func exited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.waitUntilExit()
                continuation.resume()
            }
        }
    }
}
