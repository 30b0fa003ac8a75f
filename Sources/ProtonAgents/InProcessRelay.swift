import ProtonCore

/// A relay that hands envelopes to in-process mailboxes, chosen by the route's service URI.
public struct InProcessRelay: Relay {
    public let name: String
    private let mailboxes: [String: InProcessMailbox]

    public init(name: String = "in-process", mailboxes: [InProcessMailbox]) {
        self.name = name
        self.mailboxes = Dictionary(mailboxes.map { ($0.serviceURI, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func deliver(_ envelope: Envelope, to route: Route) async throws(RelayError) {
        guard let mailbox = mailboxes[route.serviceURI] else {
            throw .unavailable(reason: "no in-process receiving service is at \(route.serviceURI)")
        }
        try await mailbox.deliver(envelope)
    }
}
