import AsyncHTTPClient
import Foundation
import ProtonHTTP
import ProtonCore

/// A relay through one of our sending services: `POST /v1/send`, then `GET /v1/send/{id}`
/// until the sending service reports the envelope delivered or failed. The sending service
/// never learns the address; it only sees the sealed blob and the receiving service's URI.
public struct SendingServiceRelay: Relay {
    public let serviceURI: String
    public var name: String { serviceURI }
    /// How long to wait for the sending service to forward before calling the attempt failed;
    /// the send agent then tries again later, and the receiver drops the duplicate if both arrive.
    public let forwardingWait: Duration
    private let transport: HTTPTransport

    public init(serviceURI: String, client: HTTPClient? = nil, timeout: TimeInterval = 30, forwardingWait: Duration = .seconds(10)) {
        self.serviceURI = serviceURI
        self.forwardingWait = forwardingWait
        transport = HTTPTransport(client: client, timeout: timeout)
    }

    /// RFC 3986's unreserved characters: what a path segment may hold as it is (a base64url id).
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The sending service's own refusal. 404 and 405 mean no Proton sending service answers
    /// there (a wrong URI, or its port taken by something else since it stopped) and 429 that
    /// it limits this client: another sending service may still take the message, so these
    /// are `unavailable` (the agent fails over), where a 400 about the request is final.
    static func failure(_ response: HTTPTransport.Response) -> RelayError {
        let failure = HTTPTransport.failure(response, address: nil)
        if [404, 405, 429].contains(response.status), case .rejected(_, let reason) = failure {
            return .unavailable(reason: "the sending service cannot take it (HTTP \(response.status)): \(reason)")
        }
        return failure
    }

    public func deliver(_ envelope: Envelope, to route: Route) async throws(RelayError) {
        let body = HTTPTransport.encode(
            ServiceAPI.Send(
                receivingService: route.serviceURI, serviceKey: Base64URL.encode(route.serviceKey.rawRepresentation),
                sealedAddress: Base64URL.encode(envelope.sealedAddress),
                ciphertext: Base64URL.encode(envelope.ciphertext)))
        // One isolation key per destination address: through a proxy, sends to different
        // addresses leave by different circuits.
        let isolation = "send|\(serviceURI)|\(route.serviceURI)|\(Base64URL.encode(route.address.bytes))"
        let accepted = try await transport.perform(.POST, ServiceHTTP.join(serviceURI, "/v1/send").url, body: body, isolation: isolation)
        // A 4xx from the sending service itself says nothing about the address: not a 410.
        guard (200..<300).contains(accepted.status) else { throw Self.failure(accepted) }
        var status = try HTTPTransport.decode(ServiceAPI.SendStatus.self, from: accepted)
        let deadline = ContinuousClock.now.advanced(by: forwardingWait)
        var pause = Duration.milliseconds(5)
        while status.state == .queued {
            // A failed first forward means the receiving service is unreachable from there: say
            // so now, so the agent can fail over to another route, while the sending service
            // keeps retrying (a copy that arrives twice is dropped by the receiver).
            if status.attempts > 0, let error = status.error {
                throw .unavailable(reason: "\(serviceURI) could not forward the message yet: \(error)")
            }
            guard ContinuousClock.now < deadline else {
                throw .unavailable(reason: "\(serviceURI) has not forwarded the message yet (\(status.attempts) attempts)")
            }
            do { try await Task.sleep(for: pause) } catch { throw .unavailable(reason: "the send was cancelled") }
            pause = min(pause * 2, .milliseconds(250))
            let id = status.id.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? status.id
            let polled = try await transport.perform(.GET, ServiceHTTP.join(serviceURI, "/v1/send/\(id)").url, isolation: isolation)
            guard (200..<300).contains(polled.status) else { throw Self.failure(polled) }
            status = try HTTPTransport.decode(ServiceAPI.SendStatus.self, from: polled)
        }
        if status.state == .failed {
            let reason = status.error ?? "the receiving service refused the message"
            switch status.outcome {
            case .gone: throw .addressRetired(route.address)
            case .refused: throw .rejected(status: 400, reason: reason)
            default: throw .unavailable(reason: reason)
            }
        }
    }
}
