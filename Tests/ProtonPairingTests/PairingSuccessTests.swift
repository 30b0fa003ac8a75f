import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

@Suite struct PairingSuccessTests {
    @Test func bothSidesEndWithProtonsThatExchangeMessages() async throws {
        let alex = try Party(name: "Alex", attestation: Array("alex@example.org attestation".utf8))
        let blair = try Party(name: "Blair")
        let sockets = SocketPair()
        defer { sockets.close() }
        let board = SASBoard()
        let (initiated, responded) = await runPairing(
            initiator: alex.pairing, over: FileDescriptorChannel(fileDescriptor: sockets.first),
            responder: blair.pairing, over: FileDescriptorChannel(fileDescriptor: sockets.second),
            confirmInitiator: { await board.compare($0) }, confirmResponder: { await board.compare($0) })
        let alexSide = try initiated.get()
        let blairSide = try responded.get()

        #expect(alexSide.sas == blairSide.sas)
        #expect(alexSide.sas.count == 6 && alexSide.sas.allSatisfy(\.isNumber))
        #expect(alexSide.handshakeHash == blairSide.handshakeHash)
        #expect(alexSide.peerIdentity == blair.pairing.persona.publicIdentity)
        #expect(blairSide.peerIdentity == alex.pairing.persona.publicIdentity)
        #expect(blairSide.peerAttestation == alex.pairing.attestation)
        #expect(alexSide.peerAttestation == nil)
        #expect(alexSide.proton.peerDisplayName == "Blair")
        #expect(blairSide.proton.peerDisplayName == "Alex")
        #expect(Set(alexSide.proton.sendingRoutes) == Set(blair.pairing.routes.map(\.route)))
        #expect(Set(blairSide.proton.sendingRoutes) == Set(alex.pairing.routes.map(\.route)))

        var alexProton = alexSide.proton
        var blairProton = blairSide.proton
        let random = SystemRandom()
        let hello = try alexProton.seal(Array("hello Blair".utf8), now: testNow, random: random)
        let received = try blairProton.open(hello.ciphertext, at: blair.firstAddress, now: testNow, random: random)
        #expect(received.body == Array("hello Blair".utf8))
        #expect(blairProton.arrival(of: received.sequence) == .next)
        let reply = try blairProton.seal(Array("hello Alex".utf8), now: testNow, random: random)
        let answered = try alexProton.open(reply.ciphertext, at: alex.firstAddress, now: testNow, random: random)
        #expect(answered.body == Array("hello Alex".utf8))
        // The responder's finishing message was shown as part of the pairing: its first real
        // message is the next in order, not one held back for a gap (a VM run caught this).
        #expect(alexProton.arrival(of: answered.sequence) == .next)
    }

    /// Both sides vend hybrid key packages (PQXDH): the responder's carries the one-time ML-KEM
    /// key the initiator's start encapsulates to, so the relationship's keys depend on an ML-KEM
    /// secret; a classical package is refused by the initiator.
    @Test func thePairingStartIsHybrid() async throws {
        let blair = try Party(name: "Blair")
        let (package, _, oneTime, kem) = blair.pairing.makeKeyPackage(now: testNow, random: SystemRandom())
        #expect(package.isHybrid)
        #expect(package.oneTimePrekeys.map(\.prekey) == [oneTime.publicKey])
        #expect(package.kemKeyForStart == kem.first?.publicKey)
        let sockets = SocketPair()
        defer { sockets.close() }
        let board = SASBoard()
        let (initiated, responded) = await runPairing(
            initiator: try Party(name: "Alex").pairing, over: FileDescriptorChannel(fileDescriptor: sockets.first),
            responder: blair.pairing, over: FileDescriptorChannel(fileDescriptor: sockets.second),
            confirmInitiator: { await board.compare($0) }, confirmResponder: { await board.compare($0) })
        #expect(try initiated.get().peerKeyPackage.isHybrid)
        #expect(try responded.get().peerKeyPackage.isHybrid)

        let classical = try KeyPackage(
            identity: blair.pairing.persona.identityKey, signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: [], route: nil,
            expires: testNow.addingTimeInterval(600))
        #expect(throws: Proton.Error.classicalStartRefused) {
            try Proton.initiate(
                persona: try Party(name: "Alex").pairing.persona, peerKeyPackage: classical, transcriptHash: [1], ourRoutes: [],
                requireHybrid: true, now: testNow, random: SystemRandom())
        }
    }

    /// A person who says the numbers differ stops the pairing on both sides.
    @Test(arguments: [true, false])
    func rejectionByEitherPersonAbortsBoth(initiatorRejects: Bool) async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        let (initiated, responded) = await runPairing(
            initiator: try Party(name: "Alex").pairing, over: FileDescriptorChannel(fileDescriptor: sockets.first),
            responder: try Party(name: "Blair").pairing, over: FileDescriptorChannel(fileDescriptor: sockets.second),
            confirmInitiator: { _ in !initiatorRejects }, confirmResponder: { _ in initiatorRejects })
        #expect(initiated.error == (initiatorRejects ? .rejectedByUser : .sasMismatch))
        #expect(responded.error == (initiatorRejects ? .sasMismatch : .rejectedByUser))
    }

    @Test func refusesToStartWithoutRoutes() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        var pairing = try Party(name: "Alex").pairing
        pairing.routes = []
        let result = await outcome { () async throws(PairingError) in
            try await pairing.initiate(over: FileDescriptorChannel(fileDescriptor: sockets.first), confirm: { _ in true })
        }
        #expect(result.error == .noRoutes)
    }
}
