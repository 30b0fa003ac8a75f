import Foundation
import ProtonCrypto

@testable import ProtonCore

/// Builds the objects behind the test vectors in docs/wire-format.md, from fixed
/// DeterministicRandom seeds. Every key comes from the seed, Ed25519 signatures are
/// deterministic and sealed boxes take their ephemeral key from the same stream, so each
/// encoding is reproducible byte for byte. The order of the calls on each stream matters.
enum WireVectors {
    static let serviceURI = "https://rs.example.org/v1"

    struct InviteVector {
        let identity: Ed25519.PrivateKey
        let prekey: X25519.PrivateKey
        let service: SealedBox.PrivateKey
        let invite: Invite
    }

    /// Seed "proton/vectors/invite": identity key, prekey, service key, address; expires one
    /// day after the test clock.
    static func invite() throws -> InviteVector {
        let random = DeterministicRandom(seed: "proton/vectors/invite")
        let identity = Ed25519.PrivateKey(using: random)
        let prekey = X25519.PrivateKey(using: random)
        let service = SealedBox.PrivateKey(using: random)
        let route = try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
        let invite = Invite(identity: identity, prekey: prekey.publicKey, route: route, expires: testNow.addingTimeInterval(86400))
        return InviteVector(identity: identity, prekey: prekey, service: service, invite: invite)
    }

    struct KeyPackageVector {
        let identity: Ed25519.PrivateKey
        let signedPrekey: X25519.PrivateKey
        let oneTimePrekeys: [X25519.PrivateKey]
        let service: SealedBox.PrivateKey
        let keyPackage: KeyPackage
    }

    /// Seed "proton/vectors/key-package": identity key, signed prekey, two one-time prekeys,
    /// service key, address; expires 30 days after the test clock.
    static func keyPackage() throws -> KeyPackageVector {
        let random = DeterministicRandom(seed: "proton/vectors/key-package")
        let identity = Ed25519.PrivateKey(using: random)
        let signedPrekey = X25519.PrivateKey(using: random)
        let oneTime = [X25519.PrivateKey(using: random), X25519.PrivateKey(using: random)]
        let service = SealedBox.PrivateKey(using: random)
        let route = try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
        let package = try KeyPackage(
            identity: identity, signedPrekey: signedPrekey.publicKey, oneTimePrekeys: oneTime.map(\.publicKey), route: route,
            expires: testNow.addingTimeInterval(30 * 86400))
        return KeyPackageVector(
            identity: identity, signedPrekey: signedPrekey, oneTimePrekeys: oneTime, service: service, keyPackage: package)
    }

    struct HybridKeyPackageVector {
        let identity: Ed25519.PrivateKey
        let signedPrekey: X25519.PrivateKey
        let oneTimePrekey: X25519.PrivateKey
        let kemPrekey: MLKEM.PrivateKey
        let oneTimeKEMPrekey: MLKEM.PrivateKey
        let keyPackage: KeyPackage
    }

    /// Seed "proton/vectors/key-package-hybrid": identity key, signed prekey, one-time prekey,
    /// the last-resort ML-KEM seed (64 bytes), the one-time ML-KEM seed, service key, address.
    static func hybridKeyPackage() throws -> HybridKeyPackageVector {
        let random = DeterministicRandom(seed: "proton/vectors/key-package-hybrid")
        let identity = Ed25519.PrivateKey(using: random)
        let signedPrekey = X25519.PrivateKey(using: random)
        let oneTime = X25519.PrivateKey(using: random)
        let kemPrekey = MLKEM.PrivateKey(using: random)
        let oneTimeKEM = MLKEM.PrivateKey(using: random)
        let service = SealedBox.PrivateKey(using: random)
        let route = try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
        let package = try KeyPackage(
            identity: identity, signedPrekey: signedPrekey.publicKey, kemPrekey: kemPrekey.publicKey,
            oneTimePrekeys: [(oneTime.publicKey, oneTimeKEM.publicKey)], route: route, expires: testNow.addingTimeInterval(30 * 86400))
        return HybridKeyPackageVector(
            identity: identity, signedPrekey: signedPrekey, oneTimePrekey: oneTime, kemPrekey: kemPrekey, oneTimeKEMPrekey: oneTimeKEM,
            keyPackage: package)
    }

    /// An encapsulation to the hybrid vector's one-time ML-KEM key, recorded once (ML-KEM's
    /// encapsulation randomness cannot be replayed through swift-crypto): decapsulating it with
    /// the seeded key gives `hybridSharedSecret`.
    static let hybridCiphertext = Hex.bytes(
        """
        26d4e43710e2da2b40fd569282833fc75615cd18efea49cd2913bb9970d8733f289c5a35e187f8105390e6927a961329
        87d3c63e33212eb9c4796a9160fb0f55cd3fc5ae5e6f4b7e6f08b6b0f4740e2232b6f8e2ebb243698903d613e6c2d577
        9611c336e911f440dccbf4475930d6017d336b424a01bc69ae5069b036e01ced6776de5d4141dc287d851b537099b1a3
        d2e90fd6ee8ce9f5e016ab2a58065e118d95ef61944b02b6ed9740c1f66a9cbc4fed68fb3bda6cf4dcf60386eb116367
        b5965d079d98ba5be061450ed3a4c1c1b0515e2c8b7fef22a04c3c2fb742b5018f0e3283389dd06172bdcc695d3d7996
        ad89cfe9c9ac0ccc1a52040f37571ed0f8f8531a5ed025e3fe60a0cd52aae8c81fa5f9c614a329ca41696ebc03d38937
        8ba4381e4e40bc846d9c2465e1943b91df27679c11646f3a1936dd1d4465f3512d1139197e53765e89a036f6d5c0f53f
        ea851269da96dd5d357499e6f728adeec1097059f520080eced0876856ef0c9e6e6c511d5827181392ab97a030226612
        8e509a789c4bcddd67659212dd595fd2b00dedbaa0fe8a8695bddc94a734bcfa9f8a70420484c9f9bbe5f618cd7e973a
        a6bf4e5ed060a50d06cfec1787d6a85a2aa9a2f032547776ca43c593ca7f59b6c89f0680f9a8cf85bb15a6f53d0cee2a
        bcca8def4949e5dfe907933c004d304f52ea53e59df2a341dce30bd30804f67fac3fbf96d941a7c1a9963d4331d6b4de
        e6fc5d998c0c662a1ce43ddeb6efe9f1c6f7369662c8d6ae6bddcce24344a12350d887cd0707e0fb94849131460929cd
        99c50b7a0eef5bafac9f3b5a0c283ab672b8cbfcf2b834348f6cd3ff633e7b5bce479c5c7115d32ec277b581f2277ced
        a9d495eb3ff2429b249c6d67279fdc18ae663edd28b52e7d3d4bb2c00a0903308c516135826092f8d3d2133dfbde3e6a
        4e8a000ef026f8b7c924d4be404546586f28bb10efed44b1b2507f8bfaf9533c8823dffc5f62c343e69dc547b0f7f21c
        968f9deac0c8f662ad39b46b6d5492ec8acd2988c71d29fe13a44dbfbd89d5607088c469880fcad4a994e0b5fd4f31f8
        089904f7f2edd9187d32ade3ec158f794d10fa440c1948fb126833c7f04859d4f154864ae562bcede6324bc41f0becea
        27539adbdc5dbd3106a19a1cc68ff2e268809bfd4eea3654546afdcc1a434824dedecda6f2221a1973f303b0e63fcd66
        f7de234af06403f6e2e8003b26b16be0cf5a5cb7d4ba570e6e656ad952d31d276c1003713cc5db1314e71b6f75a399e7
        c7b26a816ada3bb0a69d6b322a9de4b4d1af6a28bb182672bca3c6b7a2cbe27b97291e0117b156e4b728a0a7f3cf7b6d
        6b49c0d795e985e957e9d4bb21008e461fbb12d4b16c8012095d9bb9ad3f6d13886586d62d3ab780188a49dd7adf36a5
        4908838aa8a4d58ce92f6f9d9a2317d4d9c53bc98b927cf90bcdd7e2a9681f2d681661d8dec0b43f91f3c1134ca307ff
        067c47e1d195cfac4682fcdd80e00870c4ebd5724ea8ed5d32a80b339383cee3
        """)
    static let hybridSharedSecret = Hex.bytes("eb8f1c19399e4220fedc8f06f008c11b5127fb484b3a6a98f1dbf764a785cbe7")

    /// Seed "proton/vectors/initial-hybrid": Alex's identity seed, Alex's route (service key,
    /// address, auth seed), then the start's ephemeral key and ratchet randomness; body "hello".
    static func hybridInitialMessage() throws -> (alex: Persona, initial: InitialMessage, secret: SecureBytes) {
        let package = try hybridKeyPackage().keyPackage
        let random = DeterministicRandom(seed: "proton/vectors/initial-hybrid")
        let alex = try Persona(displayName: "Alex", random: random)
        let route = try RouteFactory(random: random).ownRoute(now: testNow)
        let encapsulation = try MLKEM.Encapsulation(ciphertext: hybridCiphertext, sharedSecret: SecureBytes(hybridSharedSecret))
        let started = try Proton.initiate(
            persona: alex, keyPackage: package, ourRoutes: [route], body: Array("hello".utf8), replaying: encapsulation, now: testNow,
            random: random)
        return (alex, started.initialMessage, SecureBytes(hybridSharedSecret))
    }

    struct EnvelopeVector {
        let service: SealedBox.PrivateKey
        let route: Route
        let envelope: Envelope
    }

    /// The ciphertext an envelope carries is opaque to it; the vector uses 16 fixed bytes.
    static let envelopeCiphertext: [UInt8] = Array(0..<16)

    /// Seed "proton/vectors/envelope": service key, address, then the sealed box's ephemeral key.
    static func envelope() throws -> EnvelopeVector {
        let random = DeterministicRandom(seed: "proton/vectors/envelope")
        let service = SealedBox.PrivateKey(using: random)
        let route = try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
        let envelope = try Envelope(sealing: envelopeCiphertext, to: route, random: random)
        return EnvelopeVector(service: service, route: route, envelope: envelope)
    }

    /// Seed "proton/vectors/payload": service key, address. Acknowledges the peer's update 1
    /// and carries our update 2, an addRoute, with the body "hello".
    static func payload() throws -> ProtonPayload {
        let random = DeterministicRandom(seed: "proton/vectors/payload")
        let service = SealedBox.PrivateKey(using: random)
        let route = try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
        return ProtonPayload(
            acknowledged: 1, sequence: 5, updates: [ProtonUpdate(sequence: 2, change: .addRoute(route))], body: Array("hello".utf8))
    }

    /// The signed checkpoint of docs/directory.md ("Checkpoints and signed notes"), as a
    /// contact gossips it.
    static let gossipedCheckpoint = Array(
        """
        directory.example.org
        8
        XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=

        \u{2014} directory.example.org Quy1F4oImRbKy2jWOoa6+BZFiQQrNGI4uLAvNqa0RHmukukI70ijzNjzDMjM+8sMu8EpRlun/BX3362X6ixnnoJiGwk=

        """.utf8)

    static func gossipPayload() -> ProtonPayload {
        ProtonPayload(
            acknowledged: 2, sequence: 6, updates: [ProtonUpdate(sequence: 3, change: .checkpoint(gossipedCheckpoint))],
            body: Array("hello".utf8))
    }

    struct RatchetVector {
        let sharedSecret: SecureBytes
        let seed: RatchetSeed
        let responderKey: X25519.PrivateKey
        /// The initiator's state right after RatchetInitAliceHE, before the first encrypt.
        let initiatorAtStart: DoubleRatchet
        let associatedData: [UInt8]
        let plaintext: [UInt8]
        let message: [UInt8]
    }

    /// SK = bytes 0x00..0x1f; the responder's ratchet key from seed
    /// "proton/vectors/ratchet/responder"; the initiator's ratchet key and header nonce from
    /// seed "proton/vectors/ratchet/initiator"; AD = "Proton" || 0x11*32 || 0x22*32; the
    /// plaintext "hello" (a raw ratchet plaintext, not a proton payload). `hybrid`: the
    /// initiator's first chain offers its ML-KEM key (seeded from the same generator, after its
    /// ratchet key), a version 3 message; otherwise a classical chain, version 2, as a state
    /// stored before KEM steps sends until its next DH step.
    static func ratchetMessage(hybrid: Bool = false) throws -> RatchetVector {
        let sharedSecret = SecureBytes(Array(UInt8(0)..<32))
        let seed = try RatchetSeed(sharedSecret: sharedSecret)
        let responderKey = X25519.PrivateKey(using: DeterministicRandom(seed: "proton/vectors/ratchet/responder"))
        let random = DeterministicRandom(seed: "proton/vectors/ratchet/initiator")
        var initiator = try DoubleRatchet(initiating: seed, peerRatchetKey: responderKey.publicKey, random: random, offersFirstKEMKey: hybrid)
        let atStart = initiator
        let associatedData = KeyAgreement.associatedData(
            initiator: try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32)),
            responder: try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 0x22, count: 32)))
        let plaintext = Array("hello".utf8)
        let message = try initiator.encrypt(plaintext, associatedData: associatedData, random: random)
        return RatchetVector(
            sharedSecret: sharedSecret, seed: seed, responderKey: responderKey, initiatorAtStart: atStart,
            associatedData: associatedData, plaintext: plaintext, message: message)
    }
}
