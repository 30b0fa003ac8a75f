import Foundation
import ProtonCrypto

/// What a brokered directory vends: identity key, signed prekey, one-time prekeys and a
/// first-contact route. The identity key signs everything but the one-time prekeys, which a
/// directory hands out one at a time (as in X3DH section 3.2).
public struct KeyPackage: Sendable, Equatable {
    public static let maximumOneTimePrekeys = 100
    public static let maximumByteCount =
        2 + 32 + 32 + 4 + 1 + (1 + Route.maximumServiceURIByteCount + 32 + 16) + 64 + 1 + 32 * maximumOneTimePrekeys

    public let identityKey: Ed25519.PublicKey
    public let signedPrekey: X25519.PublicKey
    public let expires: Date
    public let route: Route?
    public let signature: [UInt8]
    public let oneTimePrekeys: [X25519.PublicKey]

    public init(
        identity: Ed25519.PrivateKey, signedPrekey: X25519.PublicKey, oneTimePrekeys: [X25519.PublicKey], route: Route?,
        expires: Date
    ) throws(WireError) {
        guard oneTimePrekeys.count <= Self.maximumOneTimePrekeys else {
            throw .oversized(field: "one-time prekeys", limit: Self.maximumOneTimePrekeys, actual: oneTimePrekeys.count)
        }
        self.identityKey = identity.publicKey
        self.signedPrekey = signedPrekey
        self.expires = Date(timeIntervalSince1970: floor(expires.timeIntervalSince1970))
        self.route = route
        self.oneTimePrekeys = oneTimePrekeys
        self.signature = identity.signature(for: Self.signedBytes(identityKey, signedPrekey, self.expires, route))
    }

    /// The same package holding only `prekeys` (a directory vending one at a time).
    public func withOneTimePrekeys(_ prekeys: [X25519.PublicKey]) -> KeyPackage {
        KeyPackage(identityKey, signedPrekey, expires, route, signature, prekeys)
    }

    private init(
        _ identityKey: Ed25519.PublicKey, _ signedPrekey: X25519.PublicKey, _ expires: Date, _ route: Route?,
        _ signature: [UInt8], _ oneTimePrekeys: [X25519.PublicKey]
    ) {
        self.identityKey = identityKey
        self.signedPrekey = signedPrekey
        self.expires = expires
        self.route = route
        self.signature = signature
        self.oneTimePrekeys = oneTimePrekeys
    }

    /// A bundle using the first one-time prekey, if any.
    public var bundle: PrekeyBundle {
        PrekeyBundle(identityKey: identityKey, signedPrekey: signedPrekey, oneTimePrekey: oneTimePrekeys.first)
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(nestedCapacity: 1 + 32 * oneTimePrekeys.count)
        writer.byte(UInt8(oneTimePrekeys.count))
        for key in oneTimePrekeys { writer.fixed(key.rawRepresentation) }
        return Self.signedBytes(identityKey, signedPrekey, expires, route) + signature + writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .keyPackage, maximumSize: Self.maximumByteCount)
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
        let signature = try reader.fixed(Ed25519.signatureByteCount, "signature")
        let count = Int(try reader.byte("one-time prekey count"))
        guard count <= Self.maximumOneTimePrekeys else {
            throw .oversized(field: "one-time prekeys", limit: Self.maximumOneTimePrekeys, actual: count)
        }
        var prekeys: [X25519.PublicKey] = []
        for _ in 0..<count {
            let keyBytes = try reader.fixed(32, "one-time prekey")
            prekeys.append(try! X25519.PublicKey(rawRepresentation: keyBytes))
        }
        try reader.finish()
        guard identity.isValidSignature(signature, for: Self.signedBytes(identity, signedPrekey, expires, route)) else {
            throw .invalidValue(field: "signature", reason: "does not verify: the key package was altered or forged")
        }
        self.init(identity, signedPrekey, expires, route, signature, prekeys)
    }

    private static func signedBytes(_ identity: Ed25519.PublicKey, _ signedPrekey: X25519.PublicKey, _ expires: Date, _ route: Route?) -> [UInt8] {
        var writer = WireWriter(format: .keyPackage, capacity: 200)
        writer.fixed(identity.rawRepresentation)
        writer.fixed(signedPrekey.rawRepresentation)
        writer.uint32(UInt32(clamping: Int64(expires.timeIntervalSince1970)))
        if let route {
            writer.byte(1)
            route.encode(into: &writer)
        } else {
            writer.byte(0)
        }
        return writer.bytes
    }
}
