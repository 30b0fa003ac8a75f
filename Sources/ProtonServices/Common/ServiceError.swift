import Foundation
import Hummingbird
import ProtonCore

/// A refusal a service answers with: an HTTP status and an `ErrorBody` whose `code` clients
/// branch on. Every 4xx and 5xx either service sends is one of these, so clients parse one shape.
public struct ServiceError: HTTPResponseError, Sendable, Equatable {
    public let status: HTTPResponse.Status
    public let body: ServiceAPI.ErrorBody
    /// The service's clock, sent in `Proton-Service-Time` with a `stale_request` refusal.
    public let serviceTime: Int64?

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, serviceTime: Int64? = nil) {
        self.status = status
        self.body = ServiceAPI.ErrorBody(error: message, code: code)
        self.serviceTime = serviceTime
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(body, status: status)
        if let serviceTime {
            response.headers[.init(RequestSignature.serviceTimeHeader)!] = String(serviceTime)
        }
        return response
    }
}

extension ServiceError {
    /// A signed request whose timestamp is too far from `now` (the receiving service's owner
    /// requests, the directory's proofs of possession): says the service's time, so that the
    /// client can correct for its clock and sign again.
    static func staleRequest(now: Date, service: String) -> ServiceError {
        ServiceError(
            .unauthorized, code: "stale_request",
            "The request timestamp is more than \(Int(RequestSignature.allowedSkew)) seconds from the \(service)'s clock.",
            serviceTime: Int64(now.timeIntervalSince1970.rounded(.down)))
    }

    static func malformedJSON(_ what: String) -> ServiceError {
        ServiceError(.badRequest, code: "malformed_json", "The body is not a valid \(what) JSON object.")
    }

    static func bodyTooLarge(limit: Int) -> ServiceError {
        ServiceError(.contentTooLarge, code: "body_too_large", "The body is larger than the \(limit) bytes this service accepts.")
    }

    static func badBase64(_ field: String) -> ServiceError {
        ServiceError(.badRequest, code: "bad_base64", "The field \(field) is not base64url without padding.")
    }

    static let badSealedAddress = ServiceError(
        .badRequest, code: "bad_sealed_address", "The sealed address has the wrong length, does not open with this service's key, or was sealed for another ciphertext.")

    static func badCiphertext(_ reason: String) -> ServiceError {
        ServiceError(.badRequest, code: "bad_ciphertext", "The ciphertext \(reason).")
    }

    static func badQuery(_ reason: String) -> ServiceError {
        ServiceError(.badRequest, code: "bad_query", reason)
    }

    /// The service's own disk is full: nothing was stored; worth retrying later (a 507 would
    /// say one address's mailbox is full, which is another thing).
    static let diskFull = ServiceError(
        .serviceUnavailable, code: "disk_full", "The service's disk is full; nothing was stored. Try again later.")

    static let storageDamaged = ServiceError(
        .serviceUnavailable, code: "storage_damaged", "The service's database is damaged or unreadable; nothing was stored.")

    static let storageUnavailable = ServiceError(
        .serviceUnavailable, code: "storage_unavailable", "The service's database cannot be reached; nothing was stored. Try again later.")

    static let internalError = ServiceError(.internalServerError, code: "internal_error", "The service failed to handle the request; try again.")
}
