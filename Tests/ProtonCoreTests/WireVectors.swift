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
    /// plaintext "hello" (a raw ratchet plaintext, not a proton payload).
    static func ratchetMessage() throws -> RatchetVector {
        let sharedSecret = SecureBytes(Array(UInt8(0)..<32))
        let seed = try RatchetSeed(sharedSecret: sharedSecret)
        let responderKey = X25519.PrivateKey(using: DeterministicRandom(seed: "proton/vectors/ratchet/responder"))
        let random = DeterministicRandom(seed: "proton/vectors/ratchet/initiator")
        var initiator = try DoubleRatchet(initiating: seed, peerRatchetKey: responderKey.publicKey, random: random)
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
