/// Group commit: writes that arrive while a transaction is being committed wait for the next
/// one, which takes all of them at once. Every caller still returns only after the transaction
/// holding its writes has committed, so "durable before the answer" holds, but N concurrent
/// requests cost one commit (and, with `synchronous = FULL`, one fsync) instead of N.
///
/// `commit` gets the items in arrival order and returns one outcome per item, in the same order.
/// If it throws, nothing it was given was committed and every caller in the batch gets the error.
/// Public for the benchmarks' durable bare endpoint, which commits the same way.
public actor GroupCommit<Item: Sendable, Outcome: Sendable> {
    private typealias Waiting = (items: [Item], continuation: CheckedContinuation<[Outcome], any Error>)

    private let maximumBatch: Int
    private let commit: @Sendable ([Item]) async throws -> [Outcome]
    private var pending: [Waiting] = []
    private var isCommitting = false

    /// `maximumBatch` bounds the items in one transaction; one caller's items are never split.
    public init(maximumBatch: Int = 512, commit: @escaping @Sendable ([Item]) async throws -> [Outcome]) {
        self.maximumBatch = max(1, maximumBatch)
        self.commit = commit
    }

    /// Returns `item`'s outcome once the transaction that holds it has committed.
    public func submit(_ item: Item) async throws -> Outcome {
        try await submit([item])[0]
    }

    /// Returns the items' outcomes, in order, once the one transaction that holds them all has
    /// committed.
    public func submit(_ items: [Item]) async throws -> [Outcome] {
        guard !items.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((items, continuation))
            if !isCommitting {
                isCommitting = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            var count = 0
            var taken = 0
            while taken < pending.count, taken == 0 || count + pending[taken].items.count <= maximumBatch {
                count += pending[taken].items.count
                taken += 1
            }
            let batch = Array(pending.prefix(taken))
            pending.removeFirst(taken)
            do {
                let outcomes = try await commit(batch.flatMap(\.items))
                precondition(outcomes.count == count, "a group commit returned \(outcomes.count) outcomes for \(count) items")
                var offset = 0
                for waiting in batch {
                    waiting.continuation.resume(returning: Array(outcomes[offset..<offset + waiting.items.count]))
                    offset += waiting.items.count
                }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
        isCommitting = false
    }
}
