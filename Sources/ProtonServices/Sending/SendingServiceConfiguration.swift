import Foundation
import Logging
import ProtonCore

/// Everything a sending service is started with.
public struct SendingServiceConfiguration: Sendable {
    public var listen: ListenAddress
    /// Holds `sending.sqlite`, the durable outbox (unless `database` is set).
    public var dataDirectory: URL
    /// A PostgreSQL database shared by every instance of this service; nil: SQLite in
    /// `dataDirectory`.
    public var database: PostgresLocation?
    /// The operator's listener (`/metrics`, `/health`, `/ready`); nil: none. Keep it off the
    /// public network: the metrics say how busy the service is.
    public var adminListen: ListenAddress?
    public var forwarding: ForwardingPolicy
    public var maximumBodyByteCount: Int
    /// `POST /v1/send` per client address; over it the answer is 429 `rate_limited`.
    public var sendRateLimit: ClientRateLimit
    /// How long `GET /v1/send/{id}` keeps answering for a delivered or failed message; the
    /// status rows are purged after it, so the outbox does not grow without bound.
    public var statusRetention: TimeInterval
    /// How often settled rows past their retention are purged.
    public var purgeInterval: TimeInterval
    /// Never given an address, ciphertext or sealed blob: it logs send ids and states only.
    public var logger: Logger
    public var now: @Sendable () -> Date

    /// 50 sends a second per client after a burst of 500: far above what people sending
    /// messages need, far below what it takes to use the service as a scanner.
    public static let defaultSendRateLimit = ClientRateLimit(perSecond: 50, burst: 500)

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0), dataDirectory: URL,
        forwarding: ForwardingPolicy = ForwardingPolicy(), maximumBodyByteCount: Int = ServiceAPI.maximumBodyByteCount + 1024,
        sendRateLimit: ClientRateLimit = SendingServiceConfiguration.defaultSendRateLimit,
        statusRetention: TimeInterval = 7 * 24 * 3600, purgeInterval: TimeInterval = 3600,
        logger: Logger = Logger(label: "proton.sending"), now: @escaping @Sendable () -> Date = { Date() },
        database: PostgresLocation? = nil, adminListen: ListenAddress? = nil
    ) {
        self.adminListen = adminListen
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.database = database
        self.forwarding = forwarding
        self.maximumBodyByteCount = maximumBodyByteCount
        self.sendRateLimit = sendRateLimit
        self.statusRetention = statusRetention
        self.purgeInterval = purgeInterval
        self.logger = logger
        self.now = now
    }
}
