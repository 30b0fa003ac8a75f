import Foundation
import Synchronization
import Logging
import PostgresNIO
import ProtonServices

/// Statements a test runs on the cluster itself: creating databases, and reading tables to
/// check what the services wrote.
enum PostgresAdministration {
    static func createDatabase(_ name: String, at cluster: PostgresLocation) async throws {
        try await execute("CREATE DATABASE \(name)", in: cluster)
    }

    /// The first column of every row `sql` returns, as integers.
    static func integers(_ sql: String, in database: PostgresLocation) async throws -> [Int64] {
        try await withConnection(to: database) { connection in
            var values: [Int64] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int64.self) {
                values.append(value)
            }
            return values
        }
    }

    static func execute(_ sql: String, in database: PostgresLocation) async throws {
        try await withConnection(to: database) { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    private static let logger = Logger(label: "test.postgres")

    private static func withConnection<T: Sendable>(to location: PostgresLocation, _ body: (PostgresConnection) async throws -> T)
        async throws -> T
    {
        guard case .unixSocket(let directory, let port) = location.endpoint else { throw TestPostgres.Missing() }
        let configuration = PostgresConnection.Configuration(
            unixSocketPath: directory + "/.s.PGSQL.\(port)", username: location.username, password: location.password,
            database: location.database)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Tests that stop server processes (SIGSTOP) take turns with each other and with tests that
/// drop a database: DROP DATABASE waits until every server process of the cluster has
/// answered a signal, which a stopped one does only once continued, so two such tests at once
/// stalled the shared test cluster for everyone (until the stopped processes' safety timers).
final class ClusterPause: Sendable {
    static let shared = ClusterPause()
    private let state = Mutex<(busy: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func exclusively<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        defer {
            // The turn passes to the next waiting test, if any (busy stays set for it).
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard !state.waiting.isEmpty else {
                    state.busy = false
                    return nil
                }
                return state.waiting.removeFirst()
            }
            next?.resume()
        }
        return try await body()
    }
}
