import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

/// An attacker between the two devices with keys of its own: a Noise responder to the
/// initiator, a Noise initiator to the responder, decrypting every frame from one side and
/// re-encrypting it to the other. It forwards the commitment and the nonces unchanged, as it
/// cannot open the commitment; the two handshake hashes still differ, and so do the SAS.
struct ManInTheMiddle {
    let identity = Ed25519.PrivateKey()

    func run(initiatorSide: FileDescriptorChannel, responderSide: FileDescriptorChannel) async throws {
        let random = SystemRandom()
        let commitment = try await initiatorSide.receive(.commitment)
        try await responderSide.send(PairingFrame(.commitment, payload: commitment))
        var withInitiator = HandshakeState(
            role: .responder, prologue: commitment, staticKey: identity.agreementKey(), random: random)
        var withResponder = HandshakeState(
            role: .initiator, prologue: commitment, staticKey: identity.agreementKey(), random: random)
        _ = try withInitiator.readMessage(await initiatorSide.receive(.handshake1))
        try await responderSide.send(PairingFrame(.handshake1, payload: withResponder.writeMessage()))
        _ = try withResponder.readMessage(await responderSide.receive(.handshake2))
        try await initiatorSide.send(PairingFrame(.handshake2, payload: withInitiator.writeMessage()))
        _ = try withInitiator.readMessage(await initiatorSide.receive(.handshake3))
        try await responderSide.send(PairingFrame(.handshake3, payload: withResponder.writeMessage()))
        let (_, toInitiator, fromInitiator) = withInitiator.finish()
        let (_, toResponder, fromResponder) = withResponder.finish()

        async let upstream: Void = Self.relay(from: initiatorSide, opening: fromInitiator, to: responderSide, sealing: toResponder)
        async let downstream: Void = Self.relay(from: responderSide, opening: fromResponder, to: initiatorSide, sealing: toInitiator)
        _ = await (try? upstream, try? downstream)
    }

    private static func relay(
        from source: FileDescriptorChannel, opening: CipherState, to destination: FileDescriptorChannel, sealing: CipherState
    ) async throws {
        var opening = opening
        var sealing = sealing
        while true {
            let frame = try await source.receive(timeout: .seconds(60))
            if frame.kind == .abort {
                try await destination.send(frame)
                continue
            }
            let plaintext = try opening.decrypt(associatedData: [frame.kindByte], ciphertext: frame.payload)
            let resealed = try sealing.encrypt(associatedData: [frame.kindByte], plaintext: plaintext)
            try await destination.send(PairingFrame(kindByte: frame.kindByte, payload: resealed))
        }
    }
}

@Suite struct ManInTheMiddleTests {
    @Test func reEncryptingRelayIsCaughtByTheSAS() async throws {
        let alexLink = SocketPair()
        let blairLink = SocketPair()
        let board = SASBoard()
        let attacker = ManInTheMiddle()
        let attack = Task {
            try await attacker.run(
                initiatorSide: FileDescriptorChannel(fileDescriptor: alexLink.second),
                responderSide: FileDescriptorChannel(fileDescriptor: blairLink.first))
        }
        let (initiated, responded) = await runPairing(
            initiator: try Party(name: "Alex").pairing, over: FileDescriptorChannel(fileDescriptor: alexLink.first),
            responder: try Party(name: "Blair").pairing, over: FileDescriptorChannel(fileDescriptor: blairLink.second),
            confirmInitiator: { await board.compare($0) }, confirmResponder: { await board.compare($0) })
        alexLink.shutDown()
        blairLink.shutDown()
        _ = await attack.result
        alexLink.close()
        blairLink.close()

        let numbers = await board.numbers
        #expect(numbers.count == 2)
        #expect(numbers.first != numbers.last, "the attacker's two handshakes must give different numbers")
        for side in [initiated, responded] {
            #expect(side.error == .rejectedByUser || side.error == .sasMismatch)
        }
    }
}
