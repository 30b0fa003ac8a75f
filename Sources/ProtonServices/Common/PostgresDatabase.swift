import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Where a service keeps its data when it is not the embedded SQLite file: a PostgreSQL
/// database named by a URL, shared by every instance of the service (docs/deployment.md).
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require]
///     postgres://USER@/DATABASE?host=/run/postgresql[&port=5432]   (a Unix socket)
///
/// TLS is required (with the server's certificate verified) unless the host is a loopback
/// address or a Unix socket, or `sslmode=disable` says otherwise.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket's directory and the server's port (the socket is DIR/.s.PGSQL.PORT).
        case unixSocket(directory: String, port: Int)
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    public var requiresTLS: Bool

    /// The longest URL read: it goes on the command line or in the environment.
    public static let maximumURLByteCount = 2_048

    /// Nil unless `text` is a `postgres://` or `postgresql://` URL with a user and a database.
    public init?(_ text: String) {
        guard text.utf8.count <= Self.maximumURLByteCount, let components = URLComponents(string: text),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else { return nil }
        let items = components.queryItems ?? []
        let known: Set<String> = ["sslmode", "host", "port"]
        guard items.allSatisfy({ known.contains($0.name) }), Set(items.map(\.name)).count == items.count else { return nil }
        func item(_ name: String) -> String? { items.first { $0.name == name }?.value }

        // URLComponents decodes user, password and path once; they are not decoded again.
        guard let user = components.user, !user.isEmpty else { return nil }
        let encodedPath = components.percentEncodedPath
        guard encodedPath.hasPrefix("/"), !encodedPath.dropFirst().contains("/") else { return nil }
        let database = String(components.path.dropFirst())
        guard !database.isEmpty else { return nil }
        let portText = item("port") ?? components.port.map(String.init)
        let port = portText.map { Int($0) } ?? 5432
        guard let port, (1...65_535).contains(port) else { return nil }

        if let socket = item("host") {
            guard socket.hasPrefix("/"), components.host?.isEmpty ?? true else { return nil }
            endpoint = .unixSocket(directory: socket, port: port)
        } else {
            guard let host = components.host, !host.isEmpty else { return nil }
            endpoint = .tcp(host: host, port: port)
        }
        username = user
        password = components.password
        self.database = database
        switch item("sslmode") {
        case nil: requiresTLS = !Self.isLocal(endpoint)
        case "disable": requiresTLS = false
        case "require", "verify-full": requiresTLS = true
        default: return nil
        }
    }

    private static func isLocal(_ endpoint: Endpoint) -> Bool {
        switch endpoint {
        case .unixSocket: true
        case .tcp(let host, _): host == "localhost" || host == "::1" || host == "[::1]" || isLoopbackIPv4(host)
        }
    }

    /// A literal 127.a.b.c, not a name that merely starts with "127.".
    private static func isLoopbackIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }

    /// The URL without its password, for logs and errors.
    public var description: String {
        switch endpoint {
        case .tcp(let host, let port): "postgres://\(username)@\(host):\(port)/\(database)"
        case .unixSocket(let directory, let port): "postgres://\(username)@/\(database)?host=\(directory)&port=\(port)"
        }
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            let host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database,
                tls: requiresTLS ? .require(.makeClientConfiguration()) : .disable)
        case .unixSocket(let directory, let port):
            configuration = PostgresClient.Configuration(
                unixSocketPath: directory + "/.s.PGSQL.\(port)", username: username, password: password, database: database)
        }
        configuration.options.connectTimeout = .seconds(10)
        // A commit is on disk before a 202, whatever the server's or the database's default
        // (docs/api.md, "Durability"). No statement runs past a call's deadline: a query in
        // flight does not stop when its task is cancelled, so without this a request waiting on
        // a row lock would hold its connection, and be answered 503, only when the lock came
        // free (a migration lifts it for its own transaction).
        let deadline = PostgresDatabase.operationTimeout.components.seconds
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on"), ("statement_timeout", "\(deadline)s")]
        return configuration
    }
}

/// One service's PostgreSQL connection pool, running from `open` to `close`, with its schema
/// migrated. Every instance of a service opens its own; they share the database.
final class PostgresDatabase: Sendable {
    let client: PostgresClient
    let location: PostgresLocation
    let logger: Logger
    private let running: Task<Void, Never>

    /// Connects, checks the server answers, and applies `migrations` that are missing (one
    /// instance at a time: the others wait on an advisory lock, then find them applied).
    static func open(
        _ location: PostgresLocation, service: String, migrations: [PostgresMigration], maximumConnections: Int = 16, logger: Logger
    ) async throws -> PostgresDatabase {
        var configuration = location.clientConfiguration
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let database = PostgresDatabase(client: client, location: location, logger: logger)
        do {
            try await database.migrate(service: service, migrations)
        } catch {
            database.close()
            throw PostgresDatabaseError.unusable(location: location.description, reason: Self.reason(error))
        }
        return database
    }

    private init(client: PostgresClient, location: PostgresLocation, logger: Logger) {
        self.client = client
        self.location = location
        self.logger = logger
        running = Task { await client.run() }
    }

    func close() {
        running.cancel()
    }

    /// Runs `body` in one transaction, again from the start (up to 5 times) when PostgreSQL
    /// aborts it for a deadlock or a serialization failure, which concurrent instances can
    /// cause; `body` must have no effect outside the database. Throws `PostgresUnavailable` if
    /// it has not finished within `operationTimeout` (the database unreachable, say): then it
    /// may or may not have committed, as with any lost answer to a COMMIT.
    func transaction<Result: Sendable>(
        within deadline: Duration = operationTimeout, _ body: @escaping @Sendable (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await withDeadline(deadline) {
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try await self.client.withConnection { connection in
                        // Every storage's locking assumes READ COMMITTED (each statement sees what
                        // committed before it, so a count taken after a lock is exact), whatever
                        // the server's or the role's default.
                        try await connection.query("BEGIN ISOLATION LEVEL READ COMMITTED", logger: self.logger)
                        do {
                            let result = try await body(PostgresTransaction(connection: connection, logger: self.logger))
                            // Past its deadline (cancelled) a transaction rolls back: its caller
                            // has been answered 503, and its locks go with it.
                            try Task.checkCancellation()
                            try await connection.query("COMMIT", logger: self.logger)
                            return result
                        } catch {
                            _ = try? await connection.query("ROLLBACK", logger: self.logger)
                            throw error
                        }
                    }
                } catch let error as PSQLError where attempt < 5 && Self.isRetryable(error) {
                    try await Task.sleep(for: .milliseconds(Int64.random(in: 1...20) * Int64(attempt)))
                }
            }
        }
    }

    /// Runs one statement outside an explicit transaction (it commits on its own) and returns
    /// its rows, within `operationTimeout`.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await withDeadline(Self.operationTimeout) { try await self.client.query(query, logger: self.logger).collect() }
    }

    /// Whether the database answers a query that costs nothing (a service's `/ready`).
    func answers() async -> Bool { (try? await query("SELECT 1")) != nil }

    /// How many rows one housekeeping statement deletes at most (`deleteInChunks`).
    static let deleteChunk = 10_000

    /// Runs `delete` (a statement that deletes at most `deleteChunk` rows, skipping rows that
    /// another instance's sweep holds, and returns a row for each) again until it deletes fewer. Each run is a statement and a commit of its own, so a
    /// backlog (expiries piled up during a long outage, say) is worked off a chunk at a time
    /// within the statement timeout, where one statement for all of it would be cancelled at
    /// every sweep and the backlog would only grow. Returns how many rows went.
    func deleteInChunks(_ delete: PostgresQuery) async throws -> Int {
        var deleted = 0
        while true {
            let rows = try await query(delete).count
            deleted += rows
            if rows < Self.deleteChunk { return deleted }
        }
    }

    /// How long one storage call may take, waiting for a connection included: a request fails
    /// (503 `storage_unavailable`) instead of hanging while the database is unreachable.
    static let operationTimeout: Duration = .seconds(10)

    /// How long migrating a schema may take: a migration of a large table is not a request.
    static let migrationTimeout: Duration = .seconds(3_600)

    /// How long a call may go on past its deadline before it is given up (`withDeadline`):
    /// longer than the statement timeout, which ends any statement the server is running.
    static let abandonAfter: Duration = .seconds(15)

    /// `body`'s result if it finishes within `deadline`; otherwise `PostgresUnavailable`,
    /// thrown once `body` has ended (cancelled at the deadline: a statement in flight ends at
    /// the latest with the server's statement timeout) or `abandonAfter` past the deadline,
    /// whichever comes first. A query in flight does not stop when its task is cancelled, and
    /// on a connection that died without closing (a host that hangs, a network that drops
    /// everything) no answer comes until the kernel gives up, many minutes later: the call is
    /// not held that long, and `body` finishes on its own, its result unused.
    private func withDeadline<Result: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let outcome = DeadlineOutcome<Result>()
        let work = Task {
            do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
        }
        let timer = Task {
            guard (try? await Task.sleep(for: deadline)) != nil else { return }
            outcome.passDeadline()
            work.cancel()
            guard (try? await Task.sleep(for: Self.abandonAfter)) != nil else { return }
            outcome.finish(.failure(PostgresUnavailable()))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
            work.cancel()
        }
    }

    private static func isRetryable(_ error: PSQLError) -> Bool {
        guard let code = error.serverInfo?[.sqlState] else { return false }
        return code == "40001" || code == "40P01"
    }

    /// What went wrong, in a sentence that names no password.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }

    func migrate(service: String, _ migrations: [PostgresMigration]) async throws {
        try await transaction(within: Self.migrationTimeout) { transaction in
            // Nor does the per-connection statement timeout (10 s) apply to a migration.
            try await transaction.query("SET LOCAL statement_timeout = 0")
            // One instance migrates at a time; a lock per database, held to the commit.
            try await transaction.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))")
            try await transaction.query(
                """
                CREATE TABLE IF NOT EXISTS proton_migration (
                    service TEXT NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (service, name))
                """)
            let applied = Set(
                try await transaction.query("SELECT name FROM proton_migration WHERE service = \(service)").map { try $0.decode(String.self) })
            let known = Set(migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw PostgresDatabaseError.newerSchema(service: service, migration: unknown)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement))
                }
                let now = Int64(Date().timeIntervalSince1970)
                try await transaction.query(
                    "INSERT INTO proton_migration (service, name, applied_at) VALUES (\(service), \(migration.name), \(now))")
            }
        }
    }

    /// Seconds past a request nonce's expiry before an instance deletes it: the instances'
    /// clocks differ a little, and a nonce deleted by a fast one must not be accepted again by
    /// a slow one whose window still admits the request.
    static let nonceMargin: Int64 = 600

    /// `pg_advisory_xact_lock`'s key for migrations: "proton" in ASCII.
    private static let migrationLockKey: Int64 = 0x7072_6F74_6F6E
}

/// The statements of one transaction, on its connection.
struct PostgresTransaction: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement and returns its rows; none once the transaction's call is past its
    /// deadline (cancelled): a statement in flight does not stop when its task is cancelled,
    /// but the next one is not sent, and the transaction rolls back.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try Task.checkCancellation()
        return try await connection.query(query, logger: logger).collect()
    }
}

/// A storage call did not finish within `PostgresDatabase.operationTimeout`.
struct PostgresUnavailable: Error {}

/// The result of a call raced against its deadline (`PostgresDatabase.withDeadline`): the
/// first result wins, and once the deadline has passed every result is `PostgresUnavailable`.
private final class DeadlineOutcome<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, any Error>?
        var waiting: CheckedContinuation<Value, any Error>?
        var late = false
    }
    private let state = Mutex(State())

    func passDeadline() {
        state.withLock { $0.late = true }
    }

    func finish(_ result: Result<Value, any Error>) {
        let waiting = state.withLock { state -> (CheckedContinuation<Value, any Error>, Result<Value, any Error>)? in
            guard state.result == nil else { return nil }
            let result = state.late ? .failure(PostgresUnavailable()) : result
            state.result = result
            defer { state.waiting = nil }
            return state.waiting.map { ($0, result) }
        }
        if let (continuation, result) = waiting { continuation.resume(with: result) }
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<Value, any Error>? in
                if let result = state.result { return result }
                state.waiting = continuation
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }
}

/// One named schema change; a released migration is never edited (the name is recorded).
struct PostgresMigration: Sendable {
    let name: String
    /// Run in order, in the migration's transaction (one statement each: the extended query
    /// protocol takes no more).
    let statements: [String]

    /// `sql`'s statements, separated by semicolons (none may contain one otherwise).
    init(name: String, sql: String) {
        self.name = name
        statements = sql.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// The statements as given (a function's body holds semicolons of its own).
    init(name: String, statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// The database named by `--database` cannot be used; the service does not start.
public enum PostgresDatabaseError: Error, CustomStringConvertible {
    case unusable(location: String, reason: String)
    case newerSchema(service: String, migration: String)
    case otherServiceKey
    /// The database holds another directory's log (another namespace or another key).
    case otherDirectory(reason: String)

    public var description: String {
        switch self {
        case .unusable(let location, let reason):
            "The database \(location) cannot be used: \(reason)."
        case .newerSchema(let service, let migration):
            "The database holds the \(service) schema of a newer version (migration '\(migration)'); run that version, or restore a backup."
        case .otherServiceKey:
            "The database is shared with instances that use another service key: every instance of a receiving service must use the same DIR/service-key (copy it from the first instance; docs/deployment.md)."
        case .otherDirectory(let reason):
            "The database is shared with another directory: \(reason). Every instance of a directory must use the same DIR/directory.json and DIR/directory-key (copy them from the first instance; docs/deployment.md)."
        }
    }
}

extension ByteBuffer {
    /// A `bytea` column's bytes.
    var bytes: [UInt8] { Array(readableBytesView) }
}

extension Array where Element == UInt8 {
    /// As a `bytea` bind.
    var bytea: ByteBuffer { ByteBuffer(bytes: self) }

    /// As lowercase hex, for byte strings bound in a `text[]` and read back with `decode(…, 'hex')`.
    var hexText: String { map { String(format: "%02x", $0) }.joined() }
}
