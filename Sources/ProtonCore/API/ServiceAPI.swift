import Foundation

/// The JSON bodies of the sending and receiving services' HTTP APIs (docs/api.md), shared by the
/// services and the agents so that nothing is defined twice. Bytes travel as base64url without
/// padding.
public enum ServiceAPI {
    /// The largest ciphertext a service accepts: an initial message with the largest bucket.
    public static var maximumCiphertextByteCount: Int { InitialMessage.maximumByteCount }
    /// The largest JSON body either service accepts.
    public static var maximumBodyByteCount: Int { maximumCiphertextByteCount * 4 / 3 + 4096 }

    // MARK: Receiving service

    /// `GET /v1/info`.
    public struct ServiceInfo: Codable, Sendable, Equatable {
        /// The X25519 key that sealed addresses are sealed to (base64url, 32 bytes).
        public var publicKey: String
        public var version: Int
        public var messageLifetimeSeconds: Int
        public var maximumMessagesPerAddress: Int
        public var maximumBytesPerAddress: Int

        public init(publicKey: String, version: Int = 1, messageLifetimeSeconds: Int, maximumMessagesPerAddress: Int, maximumBytesPerAddress: Int) {
            self.publicKey = publicKey
            self.version = version
            self.messageLifetimeSeconds = messageLifetimeSeconds
            self.maximumMessagesPerAddress = maximumMessagesPerAddress
            self.maximumBytesPerAddress = maximumBytesPerAddress
        }
    }

    /// `POST /v1/addresses`: registers a new address with the Ed25519 key that owns it. The
    /// request is signed by that same key (proof of possession).
    public struct CreateAddress: Codable, Sendable, Equatable {
        /// 16 bytes, base64url.
        public var address: String
        /// Ed25519 public key, 32 bytes, base64url.
        public var authKey: String

        public init(address: String, authKey: String) {
            self.address = address
            self.authKey = authKey
        }
    }

    /// `POST /v1/deliver` (receiving service) — what a sending service or a direct sender posts.
    public struct Delivery: Codable, Sendable, Equatable {
        public var sealedAddress: String
        public var ciphertext: String

        public init(sealedAddress: String, ciphertext: String) {
            self.sealedAddress = sealedAddress
            self.ciphertext = ciphertext
        }
    }

    /// `POST /v1/deliver/batch`: several deliveries in one request, as a sending service
    /// forwards them to one receiving service. At most `maximumDeliveriesPerBatch` of them, in a
    /// body of at most `maximumBatchBodyByteCount` bytes.
    public struct DeliveryBatch: Codable, Sendable, Equatable {
        public var deliveries: [Delivery]

        public init(deliveries: [Delivery]) { self.deliveries = deliveries }
    }

    /// The answer (200) to `POST /v1/deliver/batch`: one result per delivery, in order, each what
    /// `POST /v1/deliver` would have answered for it alone.
    public struct DeliveryBatchResults: Codable, Sendable, Equatable {
        public var results: [DeliveryResult]

        public init(results: [DeliveryResult]) { self.results = results }
    }

    /// One delivery's result in a batch: its HTTP status (202 when stored), and for a refusal
    /// the `ErrorBody` fields.
    public struct DeliveryResult: Codable, Sendable, Equatable {
        public var status: Int
        public var code: String?
        public var error: String?

        public init(status: Int, code: String? = nil, error: String? = nil) {
            self.status = status
            self.code = code
            self.error = error
        }
    }

    /// The most deliveries one `POST /v1/deliver/batch` may carry.
    public static let maximumDeliveriesPerBatch = 64
    /// The largest `POST /v1/deliver/batch` body: room for at least one delivery of the largest
    /// size, and for 64 of the common 1 KiB messages many times over.
    public static var maximumBatchBodyByteCount: Int { max(4 << 20, maximumBodyByteCount + 1024) }

    /// One stored message, as `GET /v1/addresses/{address}/messages` returns it.
    public struct StoredMessage: Codable, Sendable, Equatable {
        /// Increasing per address; acknowledge up to it.
        public var id: Int64
        public var ciphertext: String
        /// Unix seconds.
        public var receivedAt: Int64

        public init(id: Int64, ciphertext: String, receivedAt: Int64) {
            self.id = id
            self.ciphertext = ciphertext
            self.receivedAt = receivedAt
        }
    }

    /// `GET /v1/addresses/{address}/messages?after=ID&wait=SECONDS`.
    public struct Messages: Codable, Sendable, Equatable {
        public var messages: [StoredMessage]

        public init(messages: [StoredMessage]) { self.messages = messages }
    }

    /// `POST /v1/addresses/{address}/ack`: deletes every message with an id up to `upTo`.
    public struct Acknowledge: Codable, Sendable, Equatable {
        public var upTo: Int64

        public init(upTo: Int64) { self.upTo = upTo }
    }

    // MARK: Sending service

    /// `POST /v1/send`.
    public struct Send: Codable, Sendable, Equatable {
        /// The receiving service's origin, e.g. `http://127.0.0.1:8081`: http or https, a host,
        /// an optional port, no path.
        public var receivingService: String
        /// The X25519 key (base64url, 32 bytes) the address was sealed to: the sending service
        /// delivers only if the receiving service's `GET /v1/info` publishes exactly this key.
        public var serviceKey: String
        public var sealedAddress: String
        public var ciphertext: String

        public init(receivingService: String, serviceKey: String, sealedAddress: String, ciphertext: String) {
            self.receivingService = receivingService
            self.serviceKey = serviceKey
            self.sealedAddress = sealedAddress
            self.ciphertext = ciphertext
        }
    }

    /// `GET /v1/send/{id}`, and the answer to `POST /v1/send` (202).
    public struct SendStatus: Codable, Sendable, Equatable {
        public enum State: String, Codable, Sendable {
            /// Accepted and durable, not yet forwarded (or being retried).
            case queued
            /// The receiving service stored it.
            case delivered
            /// A final failure: see `outcome`.
            case failed
        }

        /// What the last attempt came to, classified by the sending service. The receiving
        /// service's own status line and text are never passed on: a sending service that
        /// echoed them would let anyone read whatever answers at a URI through it.
        public enum Outcome: String, Codable, Sendable {
            /// The receiving service stored the message.
            case delivered
            /// The address is retired (final).
            case gone
            /// The address's quota is full (retried until the attempts run out).
            case full
            /// Final: the receiving service refused the message, or the target is not a Proton
            /// receiving service with the named key, or not an address this service delivers to.
            case refused
            /// Not reached, or it failed; retried until the attempts run out.
            case unreachable
        }

        public var id: String
        public var state: State
        public var attempts: Int
        /// Absent until the first attempt.
        public var outcome: Outcome?
        /// The sending service's own sentence for the outcome.
        public var error: String?

        public init(id: String, state: State, attempts: Int, outcome: Outcome? = nil, error: String? = nil) {
            self.id = id
            self.state = state
            self.attempts = attempts
            self.outcome = outcome
            self.error = error
        }
    }

    /// Every 4xx and 5xx answer.
    public struct ErrorBody: Codable, Sendable, Equatable {
        /// One sentence for a person.
        public var error: String
        /// A stable machine-readable code, e.g. `address_retired`, `bad_signature`.
        public var code: String

        public init(error: String, code: String) {
            self.error = error
            self.code = code
        }
    }
}
