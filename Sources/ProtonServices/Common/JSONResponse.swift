import Foundation
import Hummingbird

/// JSON answers with an explicit status, so a handler says "202 with this body" in one line.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let data = try JSONEncoder.service.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension JSONEncoder {
    /// Sorted keys: answers are byte-stable, which keeps tests and caches simple.
    static var service: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
