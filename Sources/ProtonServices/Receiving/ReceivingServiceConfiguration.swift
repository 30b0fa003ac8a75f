import Foundation
import Logging
import ProtonCore

/// Everything a receiving service is started with.
public struct ReceivingServiceConfiguration: Sendable {
    public var listen: ListenAddress
    /// Holds `receiving.sqlite` (unless `database` is set) and the service's private key
    /// (`service-key`, the same file in every instance sharing a database).
    public var dataDirectory: URL
    /// A PostgreSQL database shared by every instance of this service; nil: SQLite in
    /// `dataDirectory`.
    public var database: PostgresLocation?
    /// The operator's listener (`/metrics`, `/health`, `/ready`); nil: none. Keep it off the
    /// public network: the metrics say how busy the service is.
    public var adminListen: ListenAddress?
    public var limits: ReceivingServiceLimits
    /// How often expired messages and old nonces are swept.
    public var sweepInterval: TimeInterval
    public var logger: Logger
    /// The service's clock, replaceable so tests can move time forward.
    public var now: @Sendable () -> Date
    /// Called with the address each time a fetch finds nothing and starts waiting for a
    /// delivery (a long-poll): tests and embedders observe the wait instead of guessing how
    /// long to sleep before delivering.
    public var onLongPollWaiting: (@Sendable (AddressID) -> Void)?

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0), dataDirectory: URL,
        limits: ReceivingServiceLimits = ReceivingServiceLimits(), sweepInterval: TimeInterval = 60,
        logger: Logger = Logger(label: "proton.receiving"), now: @escaping @Sendable () -> Date = { Date() },
        onLongPollWaiting: (@Sendable (AddressID) -> Void)? = nil, database: PostgresLocation? = nil, adminListen: ListenAddress? = nil
    ) {
        self.adminListen = adminListen
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.database = database
        self.limits = limits
        self.sweepInterval = sweepInterval
        self.logger = logger
        self.now = now
        self.onLongPollWaiting = onLongPollWaiting
    }
}
