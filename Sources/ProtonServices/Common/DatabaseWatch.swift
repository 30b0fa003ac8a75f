import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Guards a running service's SQLite files against being deleted or replaced underneath it.
///
/// SQLite keeps writing to the files it opened: if someone deletes `receiving.sqlite-wal` (or
/// swaps the database for another file) while the service runs, every later commit goes to an
/// unlinked file and is lost when the service stops, although each was answered 202. The watch
/// remembers the device and inode of every database in the data directory and of its WAL, and
/// checks them (two `stat` calls each) after every request that changed something, before the
/// answer goes out, and every `interval` in the background. A change answers 503
/// `storage_lost` instead of success, logs it, and stops the service with an error, loudly.
///
/// The background loop also checkpoints each database (PASSIVE) every `checkpointInterval`, so
/// the main file is never far behind the WAL (a copy of the main file alone is then at most that
/// old; docs/deployment.md says how to take a consistent backup).
final class DatabaseWatch: Sendable {
    struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    private struct Watched {
        let path: String
        let main: Identity
        let wal: Identity?
    }

    private let watched: [Watched]
    private let lost = Mutex<String?>(nil)

    /// Watches every `*.sqlite` in `directory` as it is now (open the storage first).
    init(directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        watched = names.filter { $0.hasSuffix(".sqlite") }.sorted().compactMap { name in
            let path = directory.appendingPathComponent(name).path
            guard let main = Self.identity(path) else { return nil }
            return Watched(path: path, main: main, wal: Self.identity(path + "-wal"))
        }
    }

    var paths: [String] { watched.map(\.path) }

    /// Nil while every watched file is the one opened; else what happened, as a sentence.
    func problem() -> String? {
        if let known = lost.withLock({ $0 }) { return known }
        for file in watched {
            let problem: String?
            if Self.identity(file.path) != file.main {
                problem = "\(file.path) was deleted or replaced while the service was running"
            } else if let wal = file.wal, Self.identity(file.path + "-wal") != wal {
                problem = "\(file.path)-wal was deleted or replaced while the service was running; writes since then are lost"
            } else {
                problem = nil
            }
            if let problem {
                lost.withLock { $0 = problem }
                return problem
            }
        }
        return nil
    }

    static func identity(_ path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    static func lostError(_ problem: String) -> ServiceError {
        ServiceError(
            .serviceUnavailable, code: "storage_lost",
            "The service's database files changed under it (\(problem)); it is stopping, and nothing was stored.")
    }
}

/// Checks the watch after every request that may have written, before its answer goes out.
struct DatabaseWatchMiddleware<Context: RequestContext>: RouterMiddleware {
    let watch: DatabaseWatch
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let problem = watch.problem() { throw DatabaseWatch.lostError(problem) }
        let response = try await next(request, context)
        guard request.method != .get, request.method != .head else { return response }
        if let problem = watch.problem() {
            logger.critical("database files changed under the service", metadata: ["problem": "\(problem)"])
            throw DatabaseWatch.lostError(problem)
        }
        return response
    }
}

/// The watch's background loop: checks every `interval`, checkpoints every
/// `checkpointInterval`, and ends the service group with an error once a file is lost.
struct DatabaseWatchService: Service {
    let watch: DatabaseWatch
    var interval: TimeInterval = 1
    var checkpointInterval: TimeInterval = 60
    let logger: Logger

    struct Lost: Error, CustomStringConvertible {
        let problem: String
        var description: String { "The service stopped: \(problem). Restore the data directory from a backup." }
    }

    func run() async throws {
        var opened: [DatabaseQueue] = []
        for path in watch.paths {
            var configuration = Configuration()
            configuration.busyMode = .timeout(1)
            if let queue = try? DatabaseQueue(path: path, configuration: configuration) { opened.append(queue) }
        }
        let queues = opened
        defer { for queue in queues { try? queue.close() } }
        let failure = try? await cancelWhenGracefulShutdown { () async throws -> Lost? in
            var sinceCheckpoint: TimeInterval = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                if let problem = watch.problem() {
                    logger.critical("database files changed under the service", metadata: ["problem": "\(problem)"])
                    return Lost(problem: problem)
                }
                sinceCheckpoint += interval
                if sinceCheckpoint >= checkpointInterval {
                    sinceCheckpoint = 0
                    for queue in queues { _ = try? await queue.writeWithoutTransaction { try $0.checkpoint(.passive) } }
                }
            }
            return nil
        }
        if let failure = failure ?? nil { throw failure }
    }
}
