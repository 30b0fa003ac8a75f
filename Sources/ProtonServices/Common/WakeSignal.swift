import Foundation

/// A reusable "something changed" signal for one waiting loop: `wake()` from anywhere, `wait`
/// in the loop. A wake with nobody waiting is kept for the next wait, so none is lost.
actor WakeSignal {
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    nonisolated func wake() {
        Task { await self.fire() }
    }

    /// Returns at the next wake, after `timeout`, or on cancellation.
    func wait(timeout: TimeInterval) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .seconds(max(0, timeout)))
            await self?.fire()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if pending || Task.isCancelled {
                    pending = false
                    continuation.resume()
                } else {
                    waiter = continuation
                }
            }
        } onCancel: {
            Task { await self.fire() }
        }
        timer.cancel()
    }

    private func fire() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            pending = true
        }
    }
}
