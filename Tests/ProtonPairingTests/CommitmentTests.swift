import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

@Suite struct CommitmentTests {
    @Test func opensOnlyWithTheCommittedNonce() {
        let nonce = SystemRandom().bytes(PairingCommitment.nonceByteCount)
        let commitment = PairingCommitment(nonce: nonce)
        #expect(commitment.isOpened(by: nonce))
        #expect(!commitment.isOpened(by: nonce.enumerated().map { $0.offset == 0 ? $0.element ^ 1 : $0.element }))
        #expect(!commitment.isOpened(by: Array(nonce.prefix(31))))
    }

    @Test func wrongRevealAbortsBothSides() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        var cheater = try Party(name: "Alex").pairing
        cheater.revealedNonceOverride = SystemRandom().bytes(PairingCommitment.nonceByteCount)
        let (initiated, responded) = await runPairing(
            initiator: cheater, over: FileDescriptorChannel(fileDescriptor: sockets.first),
            responder: try Party(name: "Blair").pairing, over: FileDescriptorChannel(fileDescriptor: sockets.second),
            confirmInitiator: { _ in true }, confirmResponder: { _ in true })
        #expect(responded.error == .commitmentMismatch)
        #expect(initiated.error == .peerAborted)
    }

    @Test func sasIsSixDigitsAndDependsOnEveryInput() {
        let hash = SystemRandom().bytes(32)
        let nonceI = SystemRandom().bytes(32)
        let nonceR = SystemRandom().bytes(32)
        let sas = ShortAuthenticationString.derive(handshakeHash: hash, initiatorNonce: nonceI, responderNonce: nonceR)
        #expect(sas.count == 6 && sas.allSatisfy(\.isNumber))
        #expect(sas == ShortAuthenticationString.derive(handshakeHash: hash, initiatorNonce: nonceI, responderNonce: nonceR))
        // Swapping the nonces must change the number (with overwhelming probability).
        #expect(sas != ShortAuthenticationString.derive(handshakeHash: hash, initiatorNonce: nonceR, responderNonce: nonceI))
    }
}
