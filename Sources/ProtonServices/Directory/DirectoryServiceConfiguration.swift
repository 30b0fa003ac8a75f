import Foundation
import Logging
import ProtonDirectory

/// Everything a directory service is started with.
public struct DirectoryServiceConfiguration: Sendable {
    /// The namespace whose names it attests, e.g. `example.org`. Fixed for the data directory's life.
    public var namespace: String
    public var policy: DirectoryPolicy
    public var listen: ListenAddress
    /// Holds `directory-key` (0600) and `directory.json`, and, unless `database` is set,
    /// `directory.sqlite` and `log.sqlite`.
    public var dataDirectory: URL
    /// A PostgreSQL database shared by every instance of this directory (each with the same
    /// `directory-key` and `directory.json`), the broker's state too; nil: SQLite in `dataDirectory`.
    public var database: PostgresLocation?
    /// The operator's listener: `/metrics`, `/health`, `/ready` (nil: none).
    public var adminListen: ListenAddress?
    public var attestationLifetime: TimeInterval
    /// Also a brokered directory: vends key packages under contact rules (`/v1/broker/...`).
    public var brokered: Bool
    public var brokerLimits: BrokerLimits
    /// Witnesses every checkpoint is submitted to; with any, bundles and `/v1/log/checkpoint`
    /// carry the newest checkpoint cosigned by at least `witnessQuorum` of them.
    public var witnesses: [WitnessEndpoint] = []
    public var witnessQuorum = 0
    public var logger: Logger
    /// The service's clock, replaceable so tests can move time.
    public var now: @Sendable () -> Date

    public init(
        namespace: String, policy: DirectoryPolicy = .open, listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0),
        dataDirectory: URL, attestationLifetime: TimeInterval = DirectoryRegistry.defaultAttestationLifetime,
        brokered: Bool = false, brokerLimits: BrokerLimits = BrokerLimits(),
        logger: Logger = Logger(label: "proton.directory"), now: @escaping @Sendable () -> Date = { Date() }, database: PostgresLocation? = nil,
        adminListen: ListenAddress? = nil
    ) {
        self.database = database
        self.adminListen = adminListen
        self.namespace = namespace
        self.policy = policy
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.attestationLifetime = attestationLifetime
        self.brokered = brokered
        self.brokerLimits = brokerLimits
        self.logger = logger
        self.now = now
    }
}

