import Foundation
import Hummingbird
import ProtonCore

/// JSON answers with an explicit status, so a handler says "202 with this body" in one line.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try ServiceJSON.encode(value))))
    }
}
