/// The JSON bodies of the brokered directory (docs/api.md, "Brokered directory"). Every request
/// is signed (`RequestSignature` headers): the owner's by the identity key the name is attested
/// to, the requester's by the requester's own identity key.
public enum BrokerAPI {
    /// How a name's owner lets others fetch its key package.
    public enum ContactRule: String, Codable, Sendable, CaseIterable {
        /// Anyone may fetch (rate-limited per requester).
        case open
        /// The requester must present an attestation bundle of its key from a trusted directory.
        case attested
        /// The owner approves each requester first (`proton requests approve`).
        case approval
    }

    /// `POST /v1/broker/names/{name}/key-package`, by the owner.
    public struct Publish: Codable, Sendable, Equatable {
        /// `KeyPackage` wire format, base64url: identity key, signed prekey, one-time prekeys, route.
        public var keyPackage: String
        public var rule: ContactRule
        /// For `attested`: the verifier keys of the directories whose attestations count. Empty
        /// means this directory alone.
        public var trustedDirectories: [String]

        public init(keyPackage: String, rule: ContactRule, trustedDirectories: [String] = []) {
            self.keyPackage = keyPackage
            self.rule = rule
            self.trustedDirectories = trustedDirectories
        }
    }

    public struct Published: Codable, Sendable, Equatable {
        public var name: String
        public var oneTimePrekeys: Int
        public var rule: ContactRule

        public init(name: String, oneTimePrekeys: Int, rule: ContactRule) {
            self.name = name
            self.oneTimePrekeys = oneTimePrekeys
            self.rule = rule
        }
    }

    /// `POST /v1/broker/names/{name}/fetch`, by a requester.
    public struct Fetch: Codable, Sendable, Equatable {
        /// The requester's identity key (Ed25519, base64url); it signs the request.
        public var requesterKey: String
        /// For `attested`: an `AttestationBundle` of `requesterKey`, base64url.
        public var attestation: String?

        public init(requesterKey: String, attestation: String? = nil) {
            self.requesterKey = requesterKey
            self.attestation = attestation
        }
    }

    /// 200: a key package holding at most one one-time prekey, never handed out before.
    /// 202: `requestID` is waiting for the owner (approval rule).
    public struct FetchResult: Codable, Sendable, Equatable {
        public var keyPackage: String?
        public var oneTimePrekeyIncluded: Bool
        public var requestID: String?

        public init(keyPackage: String?, oneTimePrekeyIncluded: Bool, requestID: String? = nil) {
            self.keyPackage = keyPackage
            self.oneTimePrekeyIncluded = oneTimePrekeyIncluded
            self.requestID = requestID
        }
    }

    public struct ContactRequest: Codable, Sendable, Equatable {
        public var id: String
        public var requesterKey: String
        public var state: String
        public var created: Int64

        public init(id: String, requesterKey: String, state: String, created: Int64) {
            self.id = id
            self.requesterKey = requesterKey
            self.state = state
            self.created = created
        }
    }

    /// `POST /v1/broker/names/{name}/requests` (owner, empty JSON object body).
    public struct ContactRequests: Codable, Sendable, Equatable {
        public var requests: [ContactRequest]

        public init(requests: [ContactRequest]) { self.requests = requests }
    }
}

/// The brokered directory's limits.
public struct BrokerLimits: Sendable, Equatable {
    /// Key-package fetches one requester key may make per window, across all names.
    public var fetchesPerRequester: Int
    public var window: Double
    /// Pending contact requests one name may hold.
    public var pendingRequestsPerName: Int
    /// One-time prekeys one name hands out per window, whoever asks. The per-requester limit
    /// alone let anyone drain a name's prekeys with fresh throwaway keys under the `open` rule;
    /// past this budget a fetch gets the package with its signed prekey only, as when the
    /// prekeys have run out (X3DH section 3.3, the last-resort case), so the name stays
    /// reachable and its owner's stock lasts.
    public var oneTimePrekeysPerName: Int

    public init(fetchesPerRequester: Int = 20, window: Double = 3_600, pendingRequestsPerName: Int = 1_000, oneTimePrekeysPerName: Int = 10) {
        self.fetchesPerRequester = fetchesPerRequester
        self.window = window
        self.pendingRequestsPerName = pendingRequestsPerName
        self.oneTimePrekeysPerName = oneTimePrekeysPerName
    }
}
