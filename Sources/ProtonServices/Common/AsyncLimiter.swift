/// At most `width` bodies at once, the rest waiting in order, at most `maximumWaiting` of them
/// (more are refused with `StorageBusy`, answered 503 `storage_unavailable`). Unlike an
/// `NSLock`, it may be held across suspension points. A storage uses it to keep requests that
/// must take a database lock from occupying every connection of its pool while they wait, so
/// that reads still find connections.
actor AsyncLimiter {
    private let width: Int
    private let maximumWaiting: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int, maximumWaiting: Int) {
        precondition(width > 0 && maximumWaiting >= 0)
        self.width = width
        self.maximumWaiting = maximumWaiting
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if running < width {
            running += 1
        } else {
            guard waiting.count < maximumWaiting else { throw StorageBusy() }
            // Resumed by the body that ends, which hands its place over: `running` stays.
            await withCheckedContinuation { waiting.append($0) }
        }
        defer {
            if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}

/// Too many requests wait for the storage already: try again shortly.
struct StorageBusy: Error {}
