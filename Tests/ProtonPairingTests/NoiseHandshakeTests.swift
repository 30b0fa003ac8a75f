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
        #expect(first.count == 32)
        #expect(try responder.readMessage(first).isEmpty)
        let second = try responder.writeMessage(payload: [7])
        #expect(second.count == 32 + 48 + 17)
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

    @Test func tamperedStaticKeyFailsAuthentication() throws {
        var initiator = HandshakeState(role: .initiator, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        var responder = HandshakeState(role: .responder, prologue: [], staticKey: X25519.PrivateKey(), random: SystemRandom())
        _ = try responder.readMessage(initiator.writeMessage())
        var second = try responder.writeMessage()
        second[40] ^= 1
        #expect(throws: PairingError.authenticationFailed) { try initiator.readMessage(second) }
    }
}
