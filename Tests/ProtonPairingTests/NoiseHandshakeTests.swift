import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

@Suite struct NoiseHandshakeTests {
    @Test func xxAgreesOnHashKeysAndStatics() throws {
        let alex = Ed25519.PrivateKey()
        let blair = Ed25519.PrivateKey()
        let prologue = Array("prologue".utf8)
        var initiator = HandshakeState(role: .initiator, prologue: prologue, staticKey: alex.agreementKey(), random: SystemRandom())
        var responder = HandshakeState(role: .responder, prologue: prologue, staticKey: blair.agreementKey(), random: SystemRandom())
        let first = try initiator.writeMessage()
        #expect(first.count == 32 + MLKEM.publicKeyByteCount, "e, then e1 (no key yet: in the clear)")
        #expect(try responder.readMessage(first).isEmpty)
        let second = try responder.writeMessage(payload: [7])
        #expect(second.count == 32 + MLKEM.ciphertextByteCount + 16 + 48 + 17, "e, ekem1 (encrypted), s, payload")
        #expect(try initiator.readMessage(second) == [7])
        let third = try initiator.writeMessage()
        #expect(third.count == 48 + 16)
        _ = try responder.readMessage(third)

        #expect(initiator.remoteStaticKey == (try blair.publicKey.agreementKey()))
        #expect(responder.remoteStaticKey == (try alex.publicKey.agreementKey()))
        let initiatorResult = initiator.finish()
        let responderResult = responder.finish()
        #expect(initiatorResult.handshakeHash == responderResult.handshakeHash)
        var initiatorSends = initiatorResult.sending
        var initiatorReceives = initiatorResult.receiving
        var responderSends = responderResult.sending
        var responderReceives = responderResult.receiving
        let sealed = try initiatorSends.encrypt(associatedData: [1], plaintext: [1, 2, 3])
        #expect(try responderReceives.decrypt(associatedData: [1], ciphertext: sealed) == [1, 2, 3])
        let back = try responderSends.encrypt(associatedData: [], plaintext: [4])
        #expect(try initiatorReceives.decrypt(associatedData: [], ciphertext: back) == [4])
        // The counter moved on: a replayed ciphertext no longer opens.
        #expect(throws: PairingError.authenticationFailed) {
            try responderReceives.decrypt(associatedData: [1], ciphertext: sealed)
        }
    }

    @Test func differentProloguesGiveDifferentHashes() throws {
        func hash(_ prologue: [UInt8]) throws -> [UInt8] {
            var initiator = HandshakeState(role: .initiator, prologue: prologue, staticKey: X25519.PrivateKey(), random: SystemRandom())
            var responder = HandshakeState(role: .responder, prologue: prologue, staticKey: X25519.PrivateKey(), random: SystemRandom())
            _ = try responder.readMessage(initiator.writeMessage())
            _ = try initiator.readMessage(responder.writeMessage())
            _ = try responder.readMessage(initiator.writeMessage())
            return initiator.finish().handshakeHash
        }
        #expect(try hash([1]) != hash([2]))
    }

    /// Every byte of message 2 after the responder's ephemeral key is authenticated: the KEM
    /// ciphertext and the static key alike.
    @Test(arguments: [40, 32 + 600, 32 + 1_103, 32 + 1_104 + 8])
    func tamperedCiphertextOrStaticKeyFailsAuthentication(_ offset: Int) throws {
        var initiator = HandshakeState(role: .initiator, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        var responder = HandshakeState(role: .responder, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        _ = try responder.readMessage(initiator.writeMessage())
        var second = try responder.writeMessage()
        second[offset] ^= 1
        #expect(throws: PairingError.authenticationFailed) { try initiator.readMessage(second) }
    }

    /// e1 travels in the clear in message 1 but is hashed into `h`: a replaced key (a man in
    /// the middle's own) changes the responder's `h`, so its message 2 no longer authenticates
    /// at the initiator, and a key that is no ML-KEM key at all is refused on reading.
    @Test func aReplacedOrInvalidKEMKeyIsCaught() throws {
        var initiator = HandshakeState(role: .initiator, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        var responder = HandshakeState(role: .responder, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        var first = try initiator.writeMessage()
        first.replaceSubrange(32..<(32 + MLKEM.publicKeyByteCount), with: MLKEM.PrivateKey().publicKey.rawRepresentation)
        _ = try responder.readMessage(first)
        #expect(throws: PairingError.authenticationFailed) { try initiator.readMessage(responder.writeMessage()) }

        var strict = HandshakeState(role: .responder, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        var other = HandshakeState(role: .initiator, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        var invalid = try other.writeMessage()
        invalid.replaceSubrange(32..<(32 + MLKEM.publicKeyByteCount), with: [UInt8](repeating: 0xff, count: MLKEM.publicKeyByteCount))
        #expect(throws: PairingError.malformed("the peer's ML-KEM key is not an encapsulation key")) { try strict.readMessage(invalid) }
    }

    /// The claim for the pairing channel: with every X25519 private key of both sides disclosed
    /// (the recorder runs the initiator on its own generator, so it writes the very message 1,
    /// the same `e` and e1, and hashes the same `h`), but the ML-KEM decapsulation key replaced
    /// by another seed under the same public key (the recorder knows only that), the recorded
    /// message 2 does not open past ekem1's MixKey: the static key after it fails, so neither
    /// the transport keys nor `h` can be had. The control, with the real ML-KEM key, opens it
    /// and derives them.
    @Test func withTheCurveBrokenTheRecordedHandshakeStaysClosed() throws {
        let alex = X25519.PrivateKey(using: DeterministicRandom(seed: "hfs alex"))
        let blair = X25519.PrivateKey(using: DeterministicRandom(seed: "hfs blair"))
        var initiator = HandshakeState(role: .initiator, prologue: [], staticKey: alex, random: DeterministicRandom(seed: "hfs initiator"))
        var responder = HandshakeState(role: .responder, prologue: [], staticKey: blair, random: DeterministicRandom(seed: "hfs responder"))
        let first = try initiator.writeMessage()
        _ = try responder.readMessage(first)
        let second = try responder.writeMessage()
        _ = try initiator.readMessage(second)
        let third = try initiator.writeMessage()
        _ = try responder.readMessage(third)
        let real = initiator.finish()

        func follow(withoutTheKEMKey: Bool) -> (hash: [UInt8], third: [UInt8])? {
            var twin = HandshakeState(role: .initiator, prologue: [], staticKey: alex, random: DeterministicRandom(seed: "hfs initiator"))
            guard (try? twin.writeMessage()) == first, let real = twin.kemKey else { return nil }
            if withoutTheKEMKey {
                twin.kemKey = try! MLKEM.PrivateKey(seed: SecureBytes(SystemRandom().bytes(MLKEM.seedByteCount)), publicKey: real.publicKey)
            }
            guard (try? twin.readMessage(second)) != nil, let ours = try? twin.writeMessage() else { return nil }
            return (twin.finish().handshakeHash, ours)
        }
        #expect(follow(withoutTheKEMKey: true) == nil, "without the ML-KEM key, message 2 does not open")
        let control = try #require(follow(withoutTheKEMKey: false))
        #expect(control.hash == real.handshakeHash && control.third == third)
    }
}
