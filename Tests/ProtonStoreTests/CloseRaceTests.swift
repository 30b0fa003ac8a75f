import Foundation
import Testing

@testable import ProtonStore

/// Closing a store while other threads read and write it: every call either completes or
/// throws `StoreError.closed`, and none reaches SQLite after the close. (GRDB must not close a
/// pool in use: a read that had passed GRDB's own check was handed a closed reader, and
/// libsqlite3 crashed on its null handle, once, in a loaded test run.)
struct CloseRaceTests {
    @Test func callsRacingACloseCompleteOrThrowClosed() throws {
        let temp = try TemporaryDirectory()
        for round in 0..<40 {
            let store = try ProfileStore.create(at: temp.child("profile-\(round)"))
            let unexpected = Unexpected()
            let group = DispatchGroup()
            for worker in 0..<6 {
                DispatchQueue.global().async(group: group) {
                    for _ in 0..<200 {
                        do {
                            if worker.isMultiple(of: 3) {
                                try store.transaction { _ in }
                            } else {
                                _ = try store.spareAddressCounts()
                            }
                        } catch StoreError.closed {
                            return
                        } catch {
                            unexpected.record(error)
                            return
                        }
                    }
                }
            }
            usleep(useconds_t.random(in: 0...2_000))
            // Two closes at once: one closes, the other returns only after it has.
            DispatchQueue.global().async(group: group) { try? store.close() }
            try store.close()
            group.wait()
            // Closed once: a third close does nothing, later calls are refused.
            try store.close()
            #expect(throws: StoreError.closed) { try store.spareAddressCounts() }
            #expect(unexpected.errors.isEmpty, "\(unexpected.errors)")
        }
    }

    private final class Unexpected: @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [String] = []
        func record(_ error: any Error) { lock.withLock { recorded.append("\(error)") } }
        var errors: [String] { lock.withLock { recorded } }
    }
}
