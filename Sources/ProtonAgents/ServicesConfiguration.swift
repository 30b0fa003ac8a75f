import AsyncHTTPClient
import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// Our own services, kept in the profile's database (`ProfileStore.Document.services`; in
/// `services.json` beside it before profile format 3): the sending
/// services the send agent relays through, and the receiving services where our addresses live,
/// each with the public key pinned when it was added.
public struct ServicesConfiguration: Codable, Sendable, Equatable {
    public static let fileName = "services.json"

    public struct SendingService: Codable, Sendable, Equatable {
        public var uri: String
        public var added: Date

        public init(uri: String, added: Date) {
            self.uri = uri
            self.added = added
        }
    }

    public struct ReceivingService: Codable, Sendable, Equatable {
        public var uri: String
        /// X25519, base64url: the key our routes at this service carry.
        public var publicKey: String
        public var added: Date

        public init(uri: String, publicKey: SealedBox.PublicKey, added: Date) {
            self.uri = uri
            self.publicKey = Base64URL.encode(publicKey.rawRepresentation)
            self.added = added
        }

        public func key() throws(AgentError) -> SealedBox.PublicKey {
            guard let bytes = try? Base64URL.decode(publicKey, limit: 32), let key = try? SealedBox.PublicKey(rawRepresentation: bytes)
            else { throw .invalidServiceKey(uri) }
            return key
        }
    }

    public var sending: [SendingService]
    public var receiving: [ReceivingService]

    public init(sending: [SendingService] = [], receiving: [ReceivingService] = []) {
        self.sending = sending
        self.receiving = receiving
    }

    public var isEmpty: Bool { sending.isEmpty && receiving.isEmpty }

    // MARK: - Editing

    /// Trims a trailing slash and checks that the URI can be a route's service URI.
    public static func normalize(_ uri: String) throws(AgentError) -> String {
        let trimmed = uri.hasSuffix("/") ? String(uri.dropLast()) : uri
        guard let url = URL(string: trimmed), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
            trimmed.utf8.count <= Route.maximumServiceURIByteCount,
            trimmed.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f })
        else { throw .invalidServiceURI(uri) }
        return trimmed
    }

    public mutating func addSending(_ uri: String, now: Date) throws(AgentError) {
        let uri = try Self.normalize(uri)
        guard !sending.contains(where: { $0.uri == uri }) else { throw .duplicateService(uri) }
        sending.append(SendingService(uri: uri, added: now))
    }

    public mutating func addReceiving(_ uri: String, publicKey: SealedBox.PublicKey, now: Date) throws(AgentError) {
        let uri = try Self.normalize(uri)
        guard !receiving.contains(where: { $0.uri == uri }) else { throw .duplicateService(uri) }
        receiving.append(ReceivingService(uri: uri, publicKey: publicKey, added: now))
    }

    /// Removes the service with this URI from whichever list holds it.
    public mutating func remove(_ uri: String) throws(AgentError) {
        let trimmed = uri.hasSuffix("/") ? String(uri.dropLast()) : uri
        let before = sending.count + receiving.count
        sending.removeAll { $0.uri == trimmed }
        receiving.removeAll { $0.uri == trimmed }
        guard sending.count + receiving.count < before else { throw .unknownService(uri) }
    }

    // MARK: - Storage

    /// The services stored in the profile (an earlier version's services.json is taken in
    /// first); an empty configuration when there are none.
    public static func load(from store: ProfileStore) throws -> ServicesConfiguration {
        try store.decodedDocument(ServicesConfiguration.self, .services) ?? ServicesConfiguration()
    }

    public func save(to store: ProfileStore) throws {
        try store.saveEncodedDocument(self, as: .services)
    }

    // MARK: - File (an earlier version's services.json)

    public static func url(in directory: URL) -> URL { directory.appendingPathComponent(fileName, isDirectory: false) }

    /// The configuration in `directory`; an empty one when there is no file yet.
    public static func load(from directory: URL) throws(AgentError) -> ServicesConfiguration {
        try JSONFile.read(ServicesConfiguration.self, at: url(in: directory)) ?? ServicesConfiguration()
    }

    public func save(to directory: URL) throws(AgentError) {
        try JSONFile.write(self, to: Self.url(in: directory))
    }

    // MARK: - Clients

    /// One relay per sending service, in the order they were added.
    public func relays(client: HTTPClient? = nil) -> [any Relay] {
        sending.map { SendingServiceRelay(serviceURI: $0.uri, client: client) }
    }

    /// One mailbox client per receiving service, in the order they were added.
    public func mailboxes(client: HTTPClient? = nil) -> [any Mailbox] {
        receiving.map { ReceivingServiceClient(serviceURI: $0.uri, client: client) }
    }
}
