import ProtonCrypto
import Testing

/// One input/output pair of the X25519 function from RFC 7748 section 5.2.
struct X25519FunctionVector: Sendable, CustomTestStringConvertible {
    let name: String
    let scalar: String
    let uCoordinate: String
    let output: String

    var testDescription: String { name }
}

/// RFC 7748 section 5.2, the two X25519 vectors.
let rfc7748FunctionVectors: [X25519FunctionVector] = [
    X25519FunctionVector(
        name: "5.2 X25519 vector 1",
        scalar: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        uCoordinate: "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        output: "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
    X25519FunctionVector(
        // Its u-coordinate has the top bit set, which X25519 must mask off (section 5).
        name: "5.2 X25519 vector 2",
        scalar: "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        uCoordinate: "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        output: "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
]

/// RFC 7748 section 6.1, the Curve25519 Diffie-Hellman example.
enum RFC7748DiffieHellman {
    static let alicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    static let alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    static let bobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
    static let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    static let sharedSecret = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
}

struct X25519Tests {
    private func privateKey(_ hex: String) throws -> X25519.PrivateKey {
        var scalar = Hex.bytes(hex)
        return try X25519.PrivateKey(rawRepresentation: &scalar)
    }

    @Test(arguments: rfc7748FunctionVectors)
    func scalarMultiplicationMatchesRFC7748Section5_2(_ vector: X25519FunctionVector) throws {
        // The u-coordinate stands in as the peer's "public key": X25519(k, u) is what sharedSecret computes.
        let key = try privateKey(vector.scalar)
        let peer = try X25519.PublicKey(rawRepresentation: Hex.bytes(vector.uCoordinate))
        let output = try key.sharedSecret(with: peer)
        #expect(output.hex == vector.output)
    }

    @Test func publicKeysMatchRFC7748Section6_1() throws {
        let alice = try privateKey(RFC7748DiffieHellman.alicePrivate)
        let bob = try privateKey(RFC7748DiffieHellman.bobPrivate)
        #expect(Hex.string(alice.publicKey.rawRepresentation) == RFC7748DiffieHellman.alicePublic)
        #expect(Hex.string(bob.publicKey.rawRepresentation) == RFC7748DiffieHellman.bobPublic)
    }

    @Test func bothSidesDeriveRFC7748Section6_1SharedSecret() throws {
        let alice = try privateKey(RFC7748DiffieHellman.alicePrivate)
        let bob = try privateKey(RFC7748DiffieHellman.bobPrivate)
        let bobPublic = try X25519.PublicKey(rawRepresentation: Hex.bytes(RFC7748DiffieHellman.bobPublic))
        let alicePublic = try X25519.PublicKey(rawRepresentation: Hex.bytes(RFC7748DiffieHellman.alicePublic))
        #expect(try alice.sharedSecret(with: bobPublic).hex == RFC7748DiffieHellman.sharedSecret)
        #expect(try bob.sharedSecret(with: alicePublic).hex == RFC7748DiffieHellman.sharedSecret)
    }

    @Test(arguments: [
        "0000000000000000000000000000000000000000000000000000000000000000",  // u = 0
        "0100000000000000000000000000000000000000000000000000000000000000",  // u = 1
    ])
    func rejectsLowOrderPeerKeyWithWeakSharedSecret(_ lowOrderPoint: String) throws {
        let key = try privateKey(RFC7748DiffieHellman.alicePrivate)
        let peer = try X25519.PublicKey(rawRepresentation: Hex.bytes(lowOrderPoint))
        #expect(throws: CryptoError.weakSharedSecret) {
            try key.sharedSecret(with: peer)
        }
    }

    @Test func rawRepresentationInitZeroesCallersScalar() throws {
        var scalar = Hex.bytes(RFC7748DiffieHellman.alicePrivate)
        _ = try X25519.PrivateKey(rawRepresentation: &scalar)
        #expect(scalar == [UInt8](repeating: 0, count: 32))
    }

    @Test func secretBytesRestoreTheSameKey() throws {
        let original = try privateKey(RFC7748DiffieHellman.alicePrivate)
        #expect(original.secretBytes.hex == RFC7748DiffieHellman.alicePrivate)
        let restored = try X25519.PrivateKey(secretBytes: original.secretBytes)
        #expect(restored.publicKey == original.publicKey)
    }

    @Test func rejectsWrongLengthKeys() {
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 31)) {
            try X25519.PublicKey(rawRepresentation: [UInt8](repeating: 9, count: 31))
        }
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 33)) {
            var scalar = [UInt8](repeating: 9, count: 33)
            _ = try X25519.PrivateKey(rawRepresentation: &scalar)
        }
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 16)) {
            _ = try X25519.PrivateKey(secretBytes: SecureBytes([UInt8](repeating: 9, count: 16)))
        }
    }

    @Test func randomKeyPairsAgree() throws {
        let a = X25519.PrivateKey()
        let b = X25519.PrivateKey()
        #expect(a.publicKey != b.publicKey)
        #expect(try a.sharedSecret(with: b.publicKey).isEqual(to: b.sharedSecret(with: a.publicKey)))
    }

    @Test func keysFromTheSameSeedAreIdentical() {
        let a = X25519.PrivateKey(using: DeterministicRandom(seed: "x25519"))
        let b = X25519.PrivateKey(using: DeterministicRandom(seed: "x25519"))
        let c = X25519.PrivateKey(using: DeterministicRandom(seed: "other"))
        #expect(a.publicKey == b.publicKey)
        #expect(a.publicKey != c.publicKey)
    }

    @Test func descriptionIsAShortFingerprint() throws {
        let key = try privateKey(RFC7748DiffieHellman.alicePrivate)
        let description = key.publicKey.description
        #expect(description.hasPrefix("x25519:"))
        #expect(description.count == "x25519:".count + 12)
        #expect(!description.contains(RFC7748DiffieHellman.alicePublic.prefix(12)))
    }
}
