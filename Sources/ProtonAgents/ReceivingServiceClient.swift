import AsyncHTTPClient
import Foundation
import ProtonHTTP
import NIOHTTP1
import ProtonCore
import ProtonCrypto

/// The owner's HTTP client for one receiving service: every address request is signed with the
/// address's auth key (`RequestSignature`), which is also the proof of possession when the
/// address is created.
public struct ReceivingServiceClient: Mailbox {
    public let serviceURI: String
    private let transport: HTTPTransport
    private let random = SystemRandom()

    /// `client` nil: the agents' own clients (`AgentHTTPClient`), through the proxy if one is in
    /// use, with each address's requests isolated from every other's.
    public init(serviceURI: String, client: HTTPClient? = nil, timeout: TimeInterval = 30) {
        self.serviceURI = serviceURI
        transport = HTTPTransport(client: client, timeout: timeout)
    }

    /// `GET /v1/info`.
    public func info() async throws(RelayError) -> ServiceAPI.ServiceInfo {
        let response = try await transport.perform(.GET, ServiceHTTP.join(serviceURI, "/v1/info").url, isolation: "service|\(serviceURI)")
        guard (200..<300).contains(response.status) else { throw HTTPTransport.failure(response, address: nil) }
        return try HTTPTransport.decode(ServiceAPI.ServiceInfo.self, from: response)
    }

    public func serviceKey() async throws(RelayError) -> SealedBox.PublicKey {
        let info = try await info()
        guard let bytes = try? Base64URL.decode(info.publicKey, limit: 32), let key = try? SealedBox.PublicKey(rawRepresentation: bytes)
        else { throw .unavailable(reason: "\(serviceURI) published a public key that is not an X25519 key") }
        return key
    }

    public func createAddress(_ address: OwnedAddress) async throws(RelayError) {
        let body = HTTPTransport.encode(
            ServiceAPI.CreateAddress(address: Base64URL.encode(address.id.bytes), authKey: Base64URL.encode(address.authKey.publicKey.rawRepresentation)))
        _ = try await signed(.POST, "/v1/addresses", body: body, address)
    }

    public func fetch(_ address: OwnedAddress, after: Int64, wait: Int) async throws(RelayError) -> [ServiceAPI.StoredMessage] {
        let path = "/v1/addresses/\(Base64URL.encode(address.id.bytes))/messages?after=\(after)&wait=\(wait)"
        let response = try await signed(.GET, path, body: nil, address, extraTimeout: TimeInterval(wait))
        return try HTTPTransport.decode(ServiceAPI.Messages.self, from: response).messages
    }

    public func acknowledge(_ address: OwnedAddress, upTo: Int64) async throws(RelayError) {
        let body = HTTPTransport.encode(ServiceAPI.Acknowledge(upTo: upTo))
        _ = try await signed(.POST, "/v1/addresses/\(Base64URL.encode(address.id.bytes))/ack", body: body, address)
    }

    public func retire(_ address: OwnedAddress) async throws(RelayError) {
        do {
            _ = try await signed(.DELETE, "/v1/addresses/\(Base64URL.encode(address.id.bytes))", body: nil, address)
        } catch .addressRetired {
            // Retired already: what we wanted.
        }
    }

    private func signed(
        _ method: HTTPMethod, _ path: String, body: [UInt8]?, _ address: OwnedAddress, extraTimeout: TimeInterval = 0
    ) async throws(RelayError) -> HTTPTransport.Response {
        let (url, signedPath) = ServiceHTTP.join(serviceURI, path)
        func attempt(offset: TimeInterval) async throws(RelayError) -> HTTPTransport.Response {
            let signature = RequestSignature.sign(
                method: method.rawValue, pathAndQuery: signedPath, body: body ?? [], key: address.authKey,
                now: Date().addingTimeInterval(offset), random: random)
            return try await transport.perform(
                method, url, body: body, headers: signature.headers, extraTimeout: extraTimeout,
                isolation: "address|\(serviceURI)|\(Base64URL.encode(address.id.bytes))")
        }
        let signedWith = ServiceClock.offset(for: serviceURI)
        var response = try await attempt(offset: signedWith)
        // Our clock is off the service's: once more, on the service's time (`ServiceClock`),
        // if that correction differs from the one this request was signed with (concurrent
        // requests are refused together; whichever answer comes first sets it for all).
        if response.status == 401, response.errorCode == "stale_request", let serviceTime = response.serviceTime {
            ServiceClock.correct(service: serviceURI, serviceTime: serviceTime, localNow: Date())
            let corrected = ServiceClock.offset(for: serviceURI)
            if abs(corrected - signedWith) >= 1 { response = try await attempt(offset: corrected) }
        }
        guard (200..<300).contains(response.status) else { throw HTTPTransport.failure(response, address: address.id) }
        return response
    }
}
