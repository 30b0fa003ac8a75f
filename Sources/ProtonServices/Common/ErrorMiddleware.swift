import GRDB
import Hummingbird
import Logging
import PostgresNIO

/// Turns every error a handler throws into a `ServiceError`, so clients always get an
/// `ErrorBody`. Unexpected errors are logged by type only: their descriptions could carry
/// request data that must not reach a log.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServiceError {
            throw error
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "There is no such endpoint; see docs/api.md." : error.body ?? error.status.reasonPhrase
            throw ServiceError(error.status, code: Self.code(for: error.status), message)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            logger.critical("the disk is full")
            throw ServiceError.diskFull
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_IOERR].contains(error.resultCode) {
            logger.critical("the database is damaged or unreadable", metadata: ["code": "\(error.resultCode)"])
            throw ServiceError.storageDamaged
        } catch let error as PSQLError {
            throw Self.refusal(for: error, logger: logger)
        } catch is PostgresUnavailable {
            logger.error("the database did not answer in time")
            throw ServiceError.storageUnavailable
        } catch is StorageBusy {
            logger.error("too many requests waiting for the storage")
            throw ServiceError.storageUnavailable
        } catch {
            logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            throw ServiceError.internalError
        }
    }

    /// A PostgreSQL failure, as the client sees it; the log gets its SQLSTATE (never its text,
    /// which can quote values).
    private static func refusal(for error: PSQLError, logger: Logger) -> ServiceError {
        let state = error.serverInfo?[.sqlState]
        if state == "53100" {
            logger.critical("the database's disk is full")
            return .diskFull
        }
        // No SQLSTATE: the connection failed or closed; 08: connection exceptions; 57P: the server
        // shutting down or terminating it; 53300: too many connections; 3D000: no such database;
        // 55P03: a lock not had within lock_timeout; 57014: a statement over statement_timeout.
        let unavailable = ["53300", "3D000", "55P03", "57014"]
        if state == nil || state?.hasPrefix("08") == true || state?.hasPrefix("57P") == true || unavailable.contains(state ?? "") {
            logger.error("the database cannot be reached", metadata: ["code": "\(error.code)", "sqlstate": "\(state ?? "")"])
            return .storageUnavailable
        }
        logger.error("request failed in the database", metadata: ["sqlstate": "\(state ?? "")"])
        return .internalError
    }

    private static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .contentTooLarge: "body_too_large"
        default: status.code < 500 ? "bad_request" : "internal_error"
        }
    }
}
