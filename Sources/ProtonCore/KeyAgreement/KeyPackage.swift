import Foundation
import ProtonCrypto

/// What a brokered directory vends: identity key, signed prekey, one-time prekeys and a
/// first-contact route. The identity key signs everything but the one-time prekeys, which a
/// directory hands out one at a time (as in X3DH section 3.2).
///
/// Version 2 is hybrid (PQXDH revision 3, section 3.2): the signed part also holds a last-resort
/// ML-KEM-768 encapsulation key, and each one-time prekey comes with a one-time ML-KEM key,
/// signed by the identity key together with the signed prekey and the one-time prekey (a
/// `0x0a` structure), so that a directory can withhold an entry but neither split, re-pair nor
/// replace either half. Version 1 (classical) still parses and starts relationships.
public struct KeyPackage: Sendable, Equatable {
    public static let classicalVersion: UInt8 = 1
    public static let hybridVersion: UInt8 = 2
    public static let maximumOneTimePrekeys = 100
    static let hybridEntryByteCount = 32 + MLKEM.publicKeyByteCount + Ed25519.signatureByteCount
    public static let maximumByteCount =
        2 + 32 + 32 + 4 + 1 + (1 + Route.maximumServiceURIByteCount + 32 + 16) + MLKEM.publicKeyByteCount + 64 + 1
        + hybridEntryByteCount * maximumOneTimePrekeys

    /// A one-time prekey, with its signed ML-KEM key in a hybrid package.
    public struct OneTimePrekey: Sendable, Equatable {
        public let prekey: X25519.PublicKey
        public let kem: SignedKEMPrekey?

        public init(prekey: X25519.PublicKey, kem: SignedKEMPrekey? = nil) {
            self.prekey = prekey
            self.kem = kem
        }
    }

    public struct SignedKEMPrekey: Sendable, Equatable {
        public let key: MLKEM.PublicKey
        /// Ed25519 by the identity key over the `0x0a` structure.
        public let signature: [UInt8]

        public init(key: MLKEM.PublicKey, signature: [UInt8]) {
            self.key = key
            self.signature = signature
        }
    }

    public let identityKey: Ed25519.PublicKey
    public let signedPrekey: X25519.PublicKey
    public let expires: Date
    public let route: Route?
    /// The last-resort ML-KEM key, covered by `signature`; nil in a classical package.
    public let kemPrekey: MLKEM.PublicKey?
    public let signature: [UInt8]
    public let oneTimePrekeys: [OneTimePrekey]

    public var isHybrid: Bool { kemPrekey != nil }

    /// A classical package (version 1).
    public init(
        identity: Ed25519.PrivateKey, signedPrekey: X25519.PublicKey, oneTimePrekeys: [X25519.PublicKey], route: Route?,
        expires: Date
    ) throws(WireError) {
        try self.init(
            identity: identity, signedPrekey: signedPrekey, kemPrekey: nil, oneTimePrekeys: oneTimePrekeys.map { ($0, nil) },
            route: route, expires: expires)
    }

    /// A hybrid package (version 2): every one-time prekey has its ML-KEM key.
    public init(
        identity: Ed25519.PrivateKey, signedPrekey: X25519.PublicKey, kemPrekey: MLKEM.PublicKey,
        oneTimePrekeys: [(X25519.PublicKey, MLKEM.PublicKey)], route: Route?, expires: Date
    ) throws(WireError) {
        try self.init(
            identity: identity, signedPrekey: signedPrekey, kemPrekey: kemPrekey as MLKEM.PublicKey?,
            oneTimePrekeys: oneTimePrekeys.map { ($0.0, $0.1 as MLKEM.PublicKey?) }, route: route, expires: expires)
    }

    private init(
        identity: Ed25519.PrivateKey, signedPrekey: X25519.PublicKey, kemPrekey: MLKEM.PublicKey?,
        oneTimePrekeys: [(X25519.PublicKey, MLKEM.PublicKey?)], route: Route?, expires: Date
    ) throws(WireError) {
        guard oneTimePrekeys.count <= Self.maximumOneTimePrekeys else {
            throw .oversized(field: "one-time prekeys", limit: Self.maximumOneTimePrekeys, actual: oneTimePrekeys.count)
        }
        self.identityKey = identity.publicKey
        self.signedPrekey = signedPrekey
        self.expires = Date(timeIntervalSince1970: floor(expires.timeIntervalSince1970))
        self.route = route
        self.kemPrekey = kemPrekey
        self.oneTimePrekeys = oneTimePrekeys.map { prekey, kem in
            OneTimePrekey(
                prekey: prekey,
                kem: kem.map { SignedKEMPrekey(key: $0, signature: identity.signature(for: Self.entryBytes(signedPrekey, prekey, $0))) })
        }
        self.signature = identity.signature(for: Self.signedBytes(identityKey, signedPrekey, self.expires, route, kemPrekey))
    }

    /// The same package holding only `prekeys` (a directory vending one at a time).
    public func withOneTimePrekeys(_ prekeys: [OneTimePrekey]) -> KeyPackage {
        KeyPackage(identityKey, signedPrekey, expires, route, kemPrekey, signature, prekeys)
    }

    private init(
        _ identityKey: Ed25519.PublicKey, _ signedPrekey: X25519.PublicKey, _ expires: Date, _ route: Route?, _ kemPrekey: MLKEM.PublicKey?,
        _ signature: [UInt8], _ oneTimePrekeys: [OneTimePrekey]
    ) {
        self.identityKey = identityKey
        self.signedPrekey = signedPrekey
        self.expires = expires
        self.route = route
        self.kemPrekey = kemPrekey
        self.signature = signature
        self.oneTimePrekeys = oneTimePrekeys
    }

    /// A bundle using the first one-time prekey, if any.
    public var bundle: PrekeyBundle {
        PrekeyBundle(identityKey: identityKey, signedPrekey: signedPrekey, oneTimePrekey: oneTimePrekeys.first?.prekey)
    }

    /// The ML-KEM key a start encapsulates to (PQXDH section 3.3): the first one-time prekey's,
    /// else the last-resort one; nil for a classical package.
    public var kemKeyForStart: MLKEM.PublicKey? { oneTimePrekeys.first?.kem?.key ?? kemPrekey }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(nestedCapacity: 1 + Self.hybridEntryByteCount * oneTimePrekeys.count)
        writer.byte(UInt8(oneTimePrekeys.count))
        for entry in oneTimePrekeys {
            writer.fixed(entry.prekey.rawRepresentation)
            if let kem = entry.kem {
                writer.fixed(kem.key.rawRepresentation)
                writer.fixed(kem.signature)
            }
        }
        return Self.signedBytes(identityKey, signedPrekey, expires, route, kemPrekey) + signature + writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(
            bytes, format: .keyPackage, maximumSize: Self.maximumByteCount, versions: Self.classicalVersion...Self.hybridVersion)
        let hybrid = bytes[1] == Self.hybridVersion
        let identityBytes = try reader.fixed(32, "identity key")
        let signedPrekeyBytes = try reader.fixed(32, "signed prekey")
        let identity = try! Ed25519.PublicKey(rawRepresentation: identityBytes)
        let signedPrekey = try! X25519.PublicKey(rawRepresentation: signedPrekeyBytes)
        let expires = Date(timeIntervalSince1970: TimeInterval(try reader.uint32("expiry")))
        let route: Route?
        switch try reader.byte("route presence") {
        case 0: route = nil
        case 1: route = try Route.decode(from: &reader)
        default: throw .invalidValue(field: "route presence", reason: "must be 0 or 1")
        }
        let kemPrekey = hybrid ? try Self.kemKey(try reader.fixed(MLKEM.publicKeyByteCount, "KEM prekey"), "KEM prekey") : nil
        let signature = try reader.fixed(Ed25519.signatureByteCount, "signature")
        let count = Int(try reader.byte("one-time prekey count"))
        guard count <= Self.maximumOneTimePrekeys else {
            throw .oversized(field: "one-time prekeys", limit: Self.maximumOneTimePrekeys, actual: count)
        }
        var prekeys: [OneTimePrekey] = []
        for _ in 0..<count {
            let prekeyBytes = try reader.fixed(32, "one-time prekey")
            let prekey = try! X25519.PublicKey(rawRepresentation: prekeyBytes)
            guard hybrid else {
                prekeys.append(OneTimePrekey(prekey: prekey))
                continue
            }
            let key = try Self.kemKey(try reader.fixed(MLKEM.publicKeyByteCount, "one-time KEM prekey"), "one-time KEM prekey")
            let entrySignature = try reader.fixed(Ed25519.signatureByteCount, "one-time KEM prekey signature")
            prekeys.append(OneTimePrekey(prekey: prekey, kem: SignedKEMPrekey(key: key, signature: entrySignature)))
        }
        try reader.finish()
        guard identity.isValidSignature(signature, for: Self.signedBytes(identity, signedPrekey, expires, route, kemPrekey)) else {
            throw .invalidValue(field: "signature", reason: "does not verify: the key package was altered or forged")
        }
        for entry in prekeys {
            guard let kem = entry.kem else { continue }
            guard identity.isValidSignature(kem.signature, for: Self.entryBytes(signedPrekey, entry.prekey, kem.key)) else {
                throw .invalidValue(field: "one-time KEM prekey signature", reason: "does not verify: the entry was altered, re-paired or forged")
            }
        }
        self.init(identity, signedPrekey, expires, route, kemPrekey, signature, prekeys)
    }

    private static func kemKey(_ bytes: [UInt8], _ field: String) throws(WireError) -> MLKEM.PublicKey {
        do { return try MLKEM.PublicKey(rawRepresentation: bytes) } catch {
            throw .invalidValue(field: field, reason: "not an ML-KEM-768 encapsulation key (a coefficient is not reduced modulo q)")
        }
    }

    private static func signedBytes(
        _ identity: Ed25519.PublicKey, _ signedPrekey: X25519.PublicKey, _ expires: Date, _ route: Route?, _ kemPrekey: MLKEM.PublicKey?
    ) -> [UInt8] {
        var writer = WireWriter(
            format: .keyPackage, version: kemPrekey == nil ? classicalVersion : hybridVersion, capacity: 200 + MLKEM.publicKeyByteCount)
        writer.fixed(identity.rawRepresentation)
        writer.fixed(signedPrekey.rawRepresentation)
        writer.uint32(UInt32(clamping: Int64(expires.timeIntervalSince1970)))
        if let route {
            writer.byte(1)
            route.encode(into: &writer)
        } else {
            writer.byte(0)
        }
        if let kemPrekey { writer.fixed(kemPrekey.rawRepresentation) }
        return writer.bytes
    }

    /// `0x0a` version 1: what a one-time ML-KEM key's signature covers.
    static func entryBytes(_ signedPrekey: X25519.PublicKey, _ prekey: X25519.PublicKey, _ kem: MLKEM.PublicKey) -> [UInt8] {
        var writer = WireWriter(format: .oneTimeKEMPrekey, capacity: 2 + 64 + MLKEM.publicKeyByteCount)
        writer.fixed(signedPrekey.rawRepresentation)
        writer.fixed(prekey.rawRepresentation)
        writer.fixed(kem.rawRepresentation)
        return writer.bytes
    }
}
