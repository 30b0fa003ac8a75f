import AsyncHTTPClient
import Foundation
import ProtonHTTP
import ProtonCore

/// A relay that posts envelopes straight to the receiving service (`POST /v1/deliver`): no
/// sending service in between, so the receiving service sees the sender's IP address.
public struct DirectRelay: Relay {
    public var name: String { "direct" }
    private let transport: HTTPTransport

    public init(client: HTTPClient? = nil, timeout: TimeInterval = 30) {
        transport = HTTPTransport(client: client, timeout: timeout)
    }

    public func deliver(_ envelope: Envelope, to route: Route) async throws(RelayError) {
        let body = HTTPTransport.encode(
            ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
        let response = try await transport.perform(.POST, ServiceHTTP.join(route.serviceURI, "/v1/deliver").url, body: body,
            isolation: "deliver|\(route.serviceURI)|\(Base64URL.encode(route.address.bytes))")
        guard (200..<300).contains(response.status) else { throw HTTPTransport.failure(response, address: route.address) }
    }
}
