import Foundation

/// The JSON bodies of the directory's HTTP API (docs/api.md, "Directory"), shared by the
/// service and `DirectoryClient`. Bytes travel as base64url without padding; a signed
/// checkpoint travels as its note text.
public enum DirectoryAPI {
    /// The largest body the directory accepts: a registration is under 300 bytes.
    public static let maximumBodyByteCount = 4_096

    /// `GET /v1/directory/info`.
    public struct Info: Codable, Sendable, Equatable {
        public var namespace: String
        /// The log's origin and the key's name: `NAMESPACE/directory`.
        public var origin: String
        /// The C2SP verifier key clients pin: `<name>+<key id>+<base64(0x01 || key)>`.
        public var verifierKey: String
        /// `open`, `approve` or `allowlist`.
        public var policy: String
        public var attestationLifetimeSeconds: Int
        /// Whether it also vends key packages (`/v1/broker/...`).
        public var brokered: Bool?
        public var version: Int

        public init(
            namespace: String, origin: String, verifierKey: String, policy: String, attestationLifetimeSeconds: Int, brokered: Bool = false,
            version: Int = 1
        ) {
            self.namespace = namespace
            self.origin = origin
            self.verifierKey = verifierKey
            self.policy = policy
            self.attestationLifetimeSeconds = attestationLifetimeSeconds
            self.brokered = brokered
            self.version = version
        }
    }

    /// `POST /v1/directory/register` and `POST /v1/directory/revoke`: the request is signed
    /// (`RequestSignature` headers) by `identityKey` itself, and the body names the namespace
    /// and the name, so the signature binds the key to exactly this `name@namespace`.
    public struct NameRequest: Codable, Sendable, Equatable {
        public var namespace: String
        public var name: String
        /// Ed25519, 32 bytes, base64url.
        public var identityKey: String

        public init(namespace: String, name: String, identityKey: String) {
            self.namespace = namespace
            self.name = name
            self.identityKey = identityKey
        }
    }

    /// `POST /v1/directory/change-key`: signed by the current key (`RequestSignature` headers)
    /// and by the new key (the same signed bytes, timestamp and nonce, in `Proton-New-Key-Signature`),
    /// so nobody can move a name to a key they do not hold.
    public struct KeyChangeRequest: Codable, Sendable, Equatable {
        public var namespace: String
        public var name: String
        public var identityKey: String
        public var newIdentityKey: String

        public init(namespace: String, name: String, identityKey: String, newIdentityKey: String) {
            self.namespace = namespace
            self.name = name
            self.identityKey = identityKey
            self.newIdentityKey = newIdentityKey
        }
    }

    /// The header carrying the new key's signature on a key change.
    public static let newKeySignatureHeader = "Proton-New-Key-Signature"

    /// The answer to a registration, a key change, a revocation and a lookup.
    public struct NameStatus: Codable, Sendable, Equatable {
        public enum State: String, Codable, Sendable {
            /// Bound: `bundle` is the attestation (or key change) with its proof.
            case attested
            /// Waiting for the operator (`approve` policy); nothing is logged yet.
            case pending
            /// The name's last log entry is a revocation; `bundle` is absent.
            case revoked
        }

        public var state: State
        public var name: String
        public var namespace: String
        public var identityKey: String?
        public var logIndex: UInt64?
        /// `AttestationBundle` in its wire format (0x09), base64url: attestation, inclusion
        /// proof and signed checkpoint, enough to verify offline.
        public var bundle: String?

        public init(state: State, name: String, namespace: String, identityKey: String? = nil, logIndex: UInt64? = nil, bundle: String? = nil) {
            self.state = state
            self.name = name
            self.namespace = namespace
            self.identityKey = identityKey
            self.logIndex = logIndex
            self.bundle = bundle
        }
    }

    /// `GET /v1/log/inclusion` and `GET /v1/log/consistency`: the proof's hashes, base64url,
    /// in RFC 9162 order.
    public struct Proof: Codable, Sendable, Equatable {
        /// The leaf index (inclusion) or the first size (consistency).
        public var from: UInt64
        /// The tree size the proof leads to.
        public var size: UInt64
        public var hashes: [String]

        public init(from: UInt64, size: UInt64, hashes: [String]) {
            self.from = from
            self.size = size
            self.hashes = hashes
        }
    }

    /// `GET /v1/log/leaves/{index}`: one leaf (an encoded attestation), for monitors.
    public struct Leaf: Codable, Sendable, Equatable {
        public var index: UInt64
        public var leaf: String

        public init(index: UInt64, leaf: String) {
            self.index = index
            self.leaf = leaf
        }
    }
}
