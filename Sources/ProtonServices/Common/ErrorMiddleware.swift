import GRDB
import Hummingbird
import Logging

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
        } catch {
            logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            throw ServiceError.internalError
        }
    }

    private static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .contentTooLarge: "body_too_large"
        default: status.code < 500 ? "bad_request" : "internal_error"
        }
    }
}
