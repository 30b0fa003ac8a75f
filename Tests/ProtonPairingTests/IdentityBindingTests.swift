import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

@Suite struct IdentityBindingTests {
    /// Generous: under a loaded full run a task may wait a long time for a thread, and a
    /// timeout here would hide the outcome the test is about (one CI run timed out at 5 s; with
    /// 60 s, one full suite in six timed out). At the start of a full suite every test starts at
    /// once on the two threads of this machine's concurrency pool: this test passed after 85 s
    /// in one suite and failed at 60 s in the next (8 December, trivial tests of the same start
    /// took 66–72 s). Only a broken pairing ever waits this long.
    static let patience: Duration = .seconds(300)

    /// A responder that completes the handshake (and the SAS) with one identity, then offers a
    /// genuine key package of another: it must not get its prekeys accepted.
    @Test func keyPackageOfAnotherIdentityAborts() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        let handshakeIdentity = Ed25519.PrivateKey()
        let packageIdentity = Ed25519.PrivateKey()
        let impostor = Task { () async throws -> PairingFrame in
            let channel = FileDescriptorChannel(fileDescriptor: sockets.second, timeout: Self.patience)
            let commitment = try await channel.receive(.commitment)
            var handshake = HandshakeState(
                role: .responder, prologue: commitment, staticKey: handshakeIdentity.agreementKey(), random: SystemRandom())
            _ = try handshake.readMessage(await channel.receive(.handshake1))
            try await channel.send(PairingFrame(.handshake2, payload: handshake.writeMessage()))
            _ = try handshake.readMessage(await channel.receive(.handshake3))
            let (_, sending, receiving) = handshake.finish()
            var secure = SecureChannel(channel: channel, sending: sending, receiving: receiving)
            try await secure.send(.responderNonce, SystemRandom().bytes(PairingCommitment.nonceByteCount))
            _ = try await secure.receive(.initiatorNonce)
            try await secure.send(.confirmation, [1])
            _ = try await secure.receive(.confirmation)
            let package = try KeyPackage(
                identity: packageIdentity, signedPrekey: X25519.PrivateKey().publicKey,
                oneTimePrekeys: [X25519.PrivateKey().publicKey], route: nil, expires: testNow.addingTimeInterval(600))
            var writer = PairingPayloadWriter()
            writer.medium(package.encoded())
            writer.optionalMedium(nil)
            try await secure.send(.responderKeys, writer.bytes)
            return try await channel.receive()
        }
        let alex = try Party(name: "Alex").pairing
        let initiated = await outcome { () async throws(PairingError) in
            try await alex.initiate(
                over: FileDescriptorChannel(fileDescriptor: sockets.first, timeout: Self.patience), now: testNow,
                confirm: { _ in true })
        }
        #expect(initiated.error == .identityMismatch)
        #expect(try await impostor.value.kind == .abort)
    }
}
