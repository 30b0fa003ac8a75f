import Foundation
import ProtonCore
import ProtonCrypto

/// Two ends of Proton's header-encrypted Double Ratchet, started from a random seed the way the
/// key agreement would start them, with the handshake completed both ways (Alice's first
/// message, Bob's reply, Alice's answer) so that the measured messages are steady-state ones,
/// the same shape as `OlmBench.Pair`. The ratchet's ML-KEM steps are on, as in every
/// relationship: a KEM secret every second DH step, or (`offersEveryStep`) every step.
final class RatchetPair: @unchecked Sendable {
    static let random = SystemRandom()
    var alice: DoubleRatchet
    var bob: DoubleRatchet

    init(offersEveryStep: Bool = false) {
        let rng = Self.random
        let seed = try! RatchetSeed(sharedSecret: SecureBytes(rng.bytes(32)))
        let bobRatchetKey = X25519.PrivateKey(using: rng)
        alice = try! DoubleRatchet(initiating: seed, peerRatchetKey: bobRatchetKey.publicKey, random: rng, offersEveryStep: offersEveryStep)
        bob = DoubleRatchet(responding: seed, ourRatchetKey: bobRatchetKey, offersEveryStep: offersEveryStep)
        let hello = Array("hello".utf8)
        precondition(aliceToBob(hello) == hello, "Proton: Bob could not read Alice's first message")
        precondition(bobToAlice(hello) == hello, "Proton: Alice could not read Bob's reply")
        precondition(aliceToBob(hello) == hello, "Proton: Bob could not read Alice's answer")
        precondition(aliceToBob(plaintext) == plaintext, "Proton: 1 KiB message did not round-trip")
    }

    @inline(__always)
    func aliceToBob(_ message: [UInt8]) -> [UInt8] {
        let wire = try! alice.encrypt(message, associatedData: associatedData, random: Self.random)
        return try! bob.decrypt(wire, associatedData: associatedData, now: Date(), random: Self.random)
    }

    @inline(__always)
    func bobToAlice(_ message: [UInt8]) -> [UInt8] {
        let wire = try! bob.encrypt(message, associatedData: associatedData, random: Self.random)
        return try! alice.decrypt(wire, associatedData: associatedData, now: Date(), random: Self.random)
    }
}
