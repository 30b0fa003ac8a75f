import Foundation

/// A reusable "something changed" signal for one waiting loop: `wake()` from anywhere, `wait`
/// in the loop. A wake with nobody waiting is kept for the next wait, so none is lost.
actor WakeSignal {
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    /// Which wait a timer belongs to: a timer left over from an earlier wait must not end a
    /// later one, nor leave a wake behind for it.
    private var generation = 0

    nonisolated func wake() {
        Task { await self.fire() }
    }

    /// Returns at the next wake, after `timeout`, or on cancellation.
    func wait(timeout: TimeInterval) async {
        generation += 1
        let current = generation
        let timer = Task { [weak self] in
            // A cancelled timer (the wait ended first) does nothing: before, it went on to
            // `fire()`, which left a wake pending, so that every wait after the first woken one
            // returned at once and the loop spun, reading the outbox, for as long as the
            // service ran.
            do { try await Task.sleep(for: .seconds(max(0, timeout))) } catch { return }
            await self?.timeOut(current)
        }
        defer { timer.cancel() }
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
    }

    private func fire() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            pending = true
        }
    }

    private func timeOut(_ wait: Int) {
        guard wait == generation, let waiter else { return }
        self.waiter = nil
        waiter.resume()
    }
}
