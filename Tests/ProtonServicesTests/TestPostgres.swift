import Foundation
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
