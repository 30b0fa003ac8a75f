import AsyncHTTPClient
import ProtonCrypto

/// One of our receiving services as the agents use it: the owner's client and the public key
/// pinned when the service was added, which every route at it carries.
public struct ReceivingEndpoint: Sendable {
    public let mailbox: any Mailbox
    public let publicKey: SealedBox.PublicKey

    public init(mailbox: any Mailbox, publicKey: SealedBox.PublicKey) {
        self.mailbox = mailbox
        self.publicKey = publicKey
    }

    public var serviceURI: String { mailbox.serviceURI }
}

extension ServicesConfiguration {
    /// Our receiving services with their pinned keys, in the order they were added.
    public func receivingEndpoints(client: HTTPClient? = nil) throws(AgentError) -> [ReceivingEndpoint] {
        try receiving.map { service throws(AgentError) in
            ReceivingEndpoint(mailbox: ReceivingServiceClient(serviceURI: service.uri, client: client), publicKey: try service.key())
        }
    }
}
