import ProtonCrypto
import Testing

/// One Ed25519 test from RFC 8032 section 7.1, copied as the RFC prints it.
struct Ed25519Vector: Sendable, CustomTestStringConvertible {
    let name: String
    let secretKey: String
    let publicKey: String
    let message: String
    let signature: String

    var testDescription: String { name }
}

/// RFC 8032 section 7.1, TEST 1-3.
let rfc8032Vectors: [Ed25519Vector] = [
    Ed25519Vector(
        name: "TEST 1 (empty message)",
        secretKey: """
            9d61b19deffd5a60ba844af492ec2cc4
            4449c5697b326919703bac031cae7f60
            """,
        publicKey: """
            d75a980182b10ab7d54bfed3c964073a
            0ee172f3daa62325af021a68f707511a
            """,
        message: "",
        signature: """
            e5564300c360ac729086e2cc806e828a
            84877f1eb8e5d974d873e06522490155
            5fb8821590a33bacc61e39701cf9b46b
            d25bf5f0595bbe24655141438e7a100b
            """),
    Ed25519Vector(
        name: "TEST 2 (one-byte message)",
        secretKey: """
            4ccd089b28ff96da9db6c346ec114e0f
            5b8a319f35aba624da8cf6ed4fb8a6fb
            """,
        publicKey: """
            3d4017c3e843895a92b70aa74d1b7ebc
            9c982ccf2ec4968cc0cd55f12af4660c
            """,
        message: "72",
        signature: """
            92a009a9f0d4cab8720e820b5f642540
            a2b27b5416503f8fb3762223ebdb69da
            085ac1e43e15996e458f3613d0f11d8c
            387b2eaeb4302aeeb00d291612bb0c00
            """),
    Ed25519Vector(
        name: "TEST 3 (two-byte message)",
        secretKey: """
            c5aa8df43f9f837bedb7442f31dcb7b1
            66d38535076f094b85ce3a2e0b4458f7
            """,
        publicKey: """
            fc51cd8e6218a1a38da47ed00230f058
            0816ed13ba3303ac5deb911548908025
            """,
        message: "af82",
        signature: """
            6291d657deec24024827e69c3abe01a3
            0ce548a284743a445e3680d7db5ac3ac
            18ff9b538d16f290ae67f760984dc659
            4a7c15e9716ed28dc027beceea1ec40a
            """),
]

struct Ed25519Tests {
    private func privateKey(_ vector: Ed25519Vector) throws -> Ed25519.PrivateKey {
        var seed = Hex.bytes(vector.secretKey)
        return try Ed25519.PrivateKey(seed: &seed)
    }

    @Test(arguments: rfc8032Vectors)
    func publicKeyFromSeedMatchesRFC8032(_ vector: Ed25519Vector) throws {
        let key = try privateKey(vector)
        #expect(Hex.string(key.publicKey.rawRepresentation) == Hex.normalized(vector.publicKey))
    }

    @Test(arguments: rfc8032Vectors)
    func signatureMatchesRFC8032Exactly(_ vector: Ed25519Vector) throws {
        let key = try privateKey(vector)
        let signature = key.signature(for: Hex.bytes(vector.message))
        #expect(signature.count == Ed25519.signatureByteCount)
        #expect(Hex.string(signature) == Hex.normalized(vector.signature))
    }

    @Test(arguments: rfc8032Vectors)
    func publishedSignatureVerifies(_ vector: Ed25519Vector) throws {
        let publicKey = try Ed25519.PublicKey(rawRepresentation: Hex.bytes(vector.publicKey))
        #expect(publicKey.isValidSignature(Hex.bytes(vector.signature), for: Hex.bytes(vector.message)))
    }

    @Test(arguments: rfc8032Vectors.filter { !$0.message.isEmpty })
    func rejectsFlippedBitInMessage(_ vector: Ed25519Vector) throws {
        let publicKey = try Ed25519.PublicKey(rawRepresentation: Hex.bytes(vector.publicKey))
        let message = Hex.bytes(vector.message)
        let signature = Hex.bytes(vector.signature)
        for bit in 0..<(message.count * 8) {
            #expect(!publicKey.isValidSignature(signature, for: message.flippingBit(bit)), "bit \(bit)")
        }
    }

    @Test(arguments: rfc8032Vectors)
    func rejectsExtendedMessage(_ vector: Ed25519Vector) throws {
        let publicKey = try Ed25519.PublicKey(rawRepresentation: Hex.bytes(vector.publicKey))
        #expect(!publicKey.isValidSignature(Hex.bytes(vector.signature), for: Hex.bytes(vector.message) + [0x00]))
    }

    @Test(arguments: rfc8032Vectors)
    func rejectsFlippedBitInSignature(_ vector: Ed25519Vector) throws {
        let publicKey = try Ed25519.PublicKey(rawRepresentation: Hex.bytes(vector.publicKey))
        let message = Hex.bytes(vector.message)
        let signature = Hex.bytes(vector.signature)
        // Bits in R (first 32 bytes) and in S (last 32), including S's top bits.
        for bit in [0, 1, 100, 255, 256, 300, 500, 507, 511] {
            #expect(!publicKey.isValidSignature(signature.flippingBit(bit), for: message), "bit \(bit)")
        }
    }

    @Test func rejectsSignatureUnderAnotherKey() throws {
        let otherKey = try Ed25519.PublicKey(rawRepresentation: Hex.bytes(rfc8032Vectors[2].publicKey))
        let vector = rfc8032Vectors[1]
        #expect(!otherKey.isValidSignature(Hex.bytes(vector.signature), for: Hex.bytes(vector.message)))
    }

    @Test func rejectsSignatureOfWrongLength() throws {
        let vector = rfc8032Vectors[1]
        let publicKey = try Ed25519.PublicKey(rawRepresentation: Hex.bytes(vector.publicKey))
        let signature = Hex.bytes(vector.signature)
        #expect(!publicKey.isValidSignature(Array(signature.dropLast()), for: Hex.bytes(vector.message)))
        #expect(!publicKey.isValidSignature(signature + [0], for: Hex.bytes(vector.message)))
        #expect(!publicKey.isValidSignature([], for: Hex.bytes(vector.message)))
    }

    @Test func seedInitZeroesCallersSeedAndKeepsACopy() throws {
        let vector = rfc8032Vectors[0]
        var seed = Hex.bytes(vector.secretKey)
        let key = try Ed25519.PrivateKey(seed: &seed)
        #expect(seed == [UInt8](repeating: 0, count: 32))
        #expect(key.seedBytes.hex == Hex.normalized(vector.secretKey))
    }

    @Test func rejectsWrongLengthSeedAndPublicKey() {
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 64)) {
            var seed = [UInt8](repeating: 1, count: 64)
            _ = try Ed25519.PrivateKey(seed: &seed)
        }
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 31)) {
            try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 31))
        }
    }

    @Test func randomKeySignsAndVerifies() {
        let key = Ed25519.PrivateKey()
        let message = Array("attack at dawn".utf8)
        let signature = key.signature(for: message)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: Array("attack at dusk".utf8)))
    }

    @Test func keysFromTheSameSeedAreIdentical() {
        let a = Ed25519.PrivateKey(using: DeterministicRandom(seed: "ed25519"))
        let b = Ed25519.PrivateKey(using: DeterministicRandom(seed: "ed25519"))
        let c = Ed25519.PrivateKey(using: DeterministicRandom(seed: "other"))
        #expect(a.publicKey == b.publicKey)
        #expect(a.publicKey != c.publicKey)
    }

    @Test(arguments: rfc8032Vectors)
    func agreementKeysOfPrivateAndPublicHalvesMatch(_ vector: Ed25519Vector) throws {
        let key = try privateKey(vector)
        #expect(key.agreementKey().publicKey == (try key.publicKey.agreementKey()))
    }

    @Test func convertedAgreementKeysAgreeOnASharedSecret() throws {
        let alice = try privateKey(rfc8032Vectors[0])
        let bob = try privateKey(rfc8032Vectors[1])
        let fromAlice = try alice.agreementKey().sharedSecret(with: bob.publicKey.agreementKey())
        let fromBob = try bob.agreementKey().sharedSecret(with: alice.publicKey.agreementKey())
        #expect(fromAlice.isEqual(to: fromBob))
    }

    @Test func descriptionIsAShortFingerprint() throws {
        let key = try privateKey(rfc8032Vectors[0])
        #expect(key.publicKey.description.hasPrefix("ed25519:"))
        #expect(key.publicKey.description.count == "ed25519:".count + 12)
    }
}
