import ServiceLifecycle

/// Runs `action` as soon as graceful shutdown begins, before the HTTP server starts waiting
/// for requests in flight: long-polls are released first, so shutdown does not wait them out.
/// Listed after the server in a service group, because a group shuts services down in reverse.
struct ShutdownHook: Service {
    let action: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}
