import Foundation
import Hummingbird
import NIOCore
import ProtonCore

extension Request {
    /// The whole body, refused with 413 past `limit` bytes: nothing larger is ever buffered.
    mutating func collectBytes(limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ServiceError.bodyTooLarge(limit: limit)
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
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch { throw .malformedJSON(what) }
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
