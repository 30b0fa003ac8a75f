import Foundation
import ProtonCore

/// Wakes long-polling fetches when a message for their address is stored: by this instance
/// (`ReceivingOperations`) or, with a shared database, by another (`ReceivingStorage.deliveries`,
/// PostgreSQL's LISTEN/NOTIFY).
actor DeliveryNotifier {
    private var waiters: [AddressID: [UUID: AsyncStream<Void>.Continuation]] = [:]
    private var isShutDown = false

    /// A stream that yields once per delivery to `address` from now on. Subscribe before
    /// reading storage, so that a delivery between the read and the wait is not missed.
    func subscribe(_ address: AddressID) -> (id: UUID, stream: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        if isShutDown {
            continuation.finish()
        } else {
            waiters[address, default: [:]][id] = continuation
        }
        return (id, stream)
    }

    func unsubscribe(_ address: AddressID, id: UUID) {
        waiters[address]?.removeValue(forKey: id)?.finish()
        if waiters[address]?.isEmpty == true { waiters[address] = nil }
    }

    func notify(_ address: AddressID) {
        for continuation in waiters[address]?.values ?? [:].values { continuation.yield() }
    }

    /// Ends every wait, and every later one at once, so a graceful shutdown is not held up by
    /// long-polls.
    func shutDown() {
        isShutDown = true
        for continuation in waiters.values.flatMap(\.values) { continuation.finish() }
        waiters = [:]
    }

    /// Waits for the first delivery on `stream`, at most `seconds`.
    nonisolated static func wait(for stream: AsyncStream<Void>, seconds: TimeInterval) async {
        guard seconds > 0 else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                _ = await iterator.next()
            }
            group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            await group.next()
            group.cancelAll()
        }
    }
}
