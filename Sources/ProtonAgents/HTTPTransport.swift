import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProtonCore
import ProtonHTTP

/// The JSON-over-HTTP plumbing the service clients share: one request, its status and body,
/// and failures turned into `RelayError`s.
struct HTTPTransport: Sendable {
    /// The client for every request, or nil for the agents' own: `AgentHTTPClient`'s, one per
    /// isolation key when a proxy is in use.
    let client: HTTPClient?
    /// Added to a long-poll's own wait to get the request timeout.
    let timeout: TimeInterval

    struct Response {
        let status: Int
        let body: [UInt8]
        /// `Proton-Service-Time`, when the service sent it (with `stale_request`) and it is an
        /// integer.
        var serviceTime: Int64? = nil

        /// The `code` of an error body, if this is one.
        var errorCode: String? { (try? JSONDecoder().decode(ServiceAPI.ErrorBody.self, from: Data(body)))?.code }
    }

    func perform(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, headers: [(name: String, value: String)] = [],
        extraTimeout: TimeInterval = 0, isolation: String
    ) async throws(RelayError) -> Response {
        let response: ServiceHTTP.Response
        do {
            response = try await ServiceHTTP.perform(
                method, url, body: body, headers: headers, client: client ?? AgentHTTPClient.client(isolating: isolation),
                timeout: timeout + extraTimeout, bodyLimit: ServiceAPI.maximumBodyByteCount * 64)
        } catch .notHTTP {
            throw .rejected(status: 0, reason: "\(url.prefix(200)) is not an http or https URI")
        } catch {
            throw .unavailable(reason: error.description)
        }
        let serviceTime = response.header(RequestSignature.serviceTimeHeader).flatMap { text in
            text.utf8.count <= 19 && text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) ? Int64(text) : nil
        }
        return Response(status: response.status, body: response.body, serviceTime: serviceTime)
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        // The API types hold only strings and integers, which always encode.
        (try? Array(JSONEncoder().encode(value))) ?? []
    }

    static func decode<T: Decodable>(_ type: T.Type, from response: Response) throws(RelayError) -> T {
        do { return try ServiceJSON.decode(type, from: response.body) } catch {
            throw .unavailable(reason: "the service answered with a body that is not a valid \(type)")
        }
    }

    /// The error for a non-2xx answer: 410 is a retired address, other 4xx are final, the rest
    /// are worth retrying.
    static func failure(_ response: Response, address: AddressID?) -> RelayError {
        let body = try? JSONDecoder().decode(ServiceAPI.ErrorBody.self, from: Data(response.body))
        var reason = body.map { Self.reason(code: $0.code, text: $0.error, status: response.status) } ?? "HTTP status \(response.status)"
        if body?.code == "stale_request", response.status == 401, let serviceTime = response.serviceTime {
            reason += " (this computer's clock is \(Self.describe(offset: TimeInterval(serviceTime) - Date().timeIntervalSince1970)))"
        }
        switch response.status {
        case 410 where address != nil: return .addressRetired(address!)
        case 400..<500: return .rejected(status: response.status, reason: reason)
        default: return .unavailable(reason: reason)
        }
    }

    /// "12 minutes behind the service's" / "2 hours 5 minutes ahead of the service's".
    static func describe(offset: TimeInterval) -> String {
        let minutes = Int((abs(offset) / 60).rounded())
        let amount =
            minutes >= 120
            ? "\(minutes / 60) hours" + (minutes % 60 == 0 ? "" : " \(minutes % 60) minutes") : "\(minutes) minute\(minutes == 1 ? "" : "s")"
        // The service's clock ahead of ours: ours is behind.
        return amount + (offset > 0 ? " behind the service's" : " ahead of the service's")
    }

    /// What a refusal means, in our words for the codes of docs/api.md that a person can act
    /// on; otherwise the service's own sentence, cut to 200 characters (the terminal layer
    /// takes out anything that is not text).
    static func reason(code: String, text: String, status: Int) -> String {
        switch code {
        case "stale_request" where status == 401:
            "the service says this computer's clock is more than \(Int(RequestSignature.allowedSkew / 60)) minutes off its own; set the clock right (for example 'timedatectl set-ntp true') and try again"
        case "disk_full":
            "the service's disk is full, so nothing was stored; its operator must make room"
        case "storage_damaged", "storage_lost":
            "the service's storage failed, so nothing was stored; its operator must look at it"
        case "quota_exceeded":
            "the address is full at the service until its owner fetches what it holds"
        case "rate_limited":
            "the service is limiting how often this computer may ask; try again shortly"
        default:
            // One line of at most 200 scalars: a service's text cannot pass for lines of ours.
            String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }))
                + " (\(String(String.UnicodeScalarView(code.unicodeScalars.prefix(40).filter { $0.isASCII && $0.value > 0x20 }))))"
        }
    }
}
