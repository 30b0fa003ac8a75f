import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The one way Proton's clients talk to a service over HTTP: the agents (to receiving and
/// sending services), the directory client, and the sending service forwarding to receiving
/// services. One request, bounded in time and in the size of the answer; only http and https.
/// What a status or a body means is each client's to say.
public enum ServiceHTTP {
    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
        public let headers: HTTPHeaders

        /// The first value of a header, if any.
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// Why a request got no answer.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The URI is not http or https (AsyncHTTPClient would also follow a Unix-socket URI,
        /// which no proxy carries and no service should hand out).
        case notHTTP(url: String)
        /// No connection, no whole answer in time, or an answer larger than allowed.
        /// `atConnect`: the connection itself failed (refused, unreachable, timed out), so
        /// nothing was sent.
        case unreachable(url: String, reason: String, atConnect: Bool)

        public var description: String {
            switch self {
            case .notHTTP(let url): "\(url.prefix(200)) is not an http or https URI"
            case .unreachable(let url, let reason, _): "\(url.prefix(200)) could not be reached (\(reason))"
            }
        }
    }

    /// Joins a base URI and an API path. The path with its query, under the base's own path,
    /// is what a request signature covers (`RequestSignature`).
    public static func join(_ base: String, _ pathAndQuery: String) -> (url: String, signedPath: String) {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        let prefix = URL(string: trimmed)?.path ?? ""
        return (trimmed + pathAndQuery, prefix + pathAndQuery)
    }

    /// One request. A JSON `body` is sent with its content type; the answer's body is read up
    /// to `bodyLimit` bytes. The whole exchange, from connecting to the answer's last byte, must
    /// end within `timeout` (AsyncHTTPClient's own deadline stops at the answer's head, after
    /// which a peer could drip the body for as long as its idle timeout allows).
    public static func perform(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, contentType: String = "application/json",
        headers: [(name: String, value: String)] = [], client: HTTPClient, timeout: TimeInterval, bodyLimit: Int
    ) async throws(Failure) -> Response {
        guard let scheme = URLComponents(string: url)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .notHTTP(url: url)
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        let prepared = request
        do {
            return try await withDeadline(timeout) {
                let response = try await client.execute(prepared, timeout: .milliseconds(Int64(timeout * 1000)))
                let buffer = try await response.body.collect(upTo: bodyLimit)
                return Response(status: Int(response.status.code), body: Array(buffer.readableBytesView), headers: response.headers)
            }
        } catch is DeadlineExceeded {
            throw .unreachable(url: url, reason: "no whole answer within \(Int(timeout.rounded())) s", atConnect: false)
        } catch {
            throw .unreachable(url: url, reason: "\(error)", atConnect: isConnectFailure(error))
        }
    }

    /// Whether the connection itself failed, so that nothing reached the service.
    static func isConnectFailure(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if error is NIOConnectionError { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        if let error = error as? IOError { return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT].contains(error.errnoCode) }
        return false
    }
}
