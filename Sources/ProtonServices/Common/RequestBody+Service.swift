import Foundation
import ProtonHTTP
import Hummingbird
import NIOCore
import ProtonCore

extension Request {
    /// How long a client may take to send a body, by default: a body sent a byte a second
    /// would otherwise hold its connection and a task for as long as the client likes.
    static let defaultBodyTimeout: TimeInterval = 30

    /// The whole body, refused with 413 past `limit` bytes (nothing larger is ever buffered)
    /// and with 408 `body_too_slow` if it has not all arrived within `timeout`.
    mutating func collectBytes(limit: Int, timeout: TimeInterval = defaultBodyTimeout) async throws -> [UInt8] {
        let request = self
        do {
            let buffer = try await withDeadline(timeout) {
                var copy = request
                return try await copy.collectBody(upTo: limit)
            }
            body = RequestBody(buffer: buffer)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ServiceError.bodyTooLarge(limit: limit)
        } catch is DeadlineExceeded {
            throw ServiceError(
                .requestTimeout, code: "body_too_slow", "The body did not arrive within \(Int(timeout)) seconds.")
        }
    }

    /// The path with its query exactly as the client sent it on the request line: what an
    /// owner signature covers.
    var pathAndQuery: String { head.path ?? uri.string }
}

enum JSONBody {
    /// Decodes `bytes` as `T`, refusing anything that is not that JSON object with 400
    /// `malformed_json`.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(ServiceError) -> T {
        do { return try ServiceJSON.decode(T.self, from: bytes) } catch { throw .malformedJSON(what) }
    }

    /// Decodes one base64url field: bad characters are `bad_base64`, too many bytes is the
    /// caller's `tooLong` error.
    static func bytes(_ text: String, field: String, limit: Int, tooLong: ServiceError) throws(ServiceError) -> [UInt8] {
        do { return try Base64URL.decode(text, limit: limit) } catch {
            if case .oversized = error { throw tooLong }
            throw .badBase64(field)
        }
    }
}
