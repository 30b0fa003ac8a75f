import Foundation
import Hummingbird
import ProtonCore

/// JSON answers with an explicit status, so a handler says "202 with this body" in one line.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let buffer =
            if let direct = (value as? any DirectJSONEncodable)?.directJSON { ByteBuffer(bytes: direct) } else {
                ByteBuffer(bytes: try JSONEncoder.service.encode(value))
            }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
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
