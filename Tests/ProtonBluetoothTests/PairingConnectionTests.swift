import Foundation
import ProtonCore
import ProtonCrypto
import ProtonPairing
import Testing

@testable import ProtonBluetooth

#if canImport(Glibc)
import Glibc
#endif

/// The pairing over `PairingConnection`, the stream RFCOMM hands to the CLI, with a socket pair
/// standing in for the radio link (real RFCOMM runs in Hardware/vm-test).
@Suite("Pairing over a PairingConnection")
struct PairingConnectionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func connectionPair() -> (PairingConnection, PairingConnection) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        return (
            PairingConnection(fileDescriptor: fds[0], peerDescription: "listener"),
            PairingConnection(fileDescriptor: fds[1], peerDescription: "initiator")
        )
    }

    static func pairing(_ name: String) throws -> Pairing {
        let persona = try Persona(displayName: name, random: SystemRandom())
        let route = try Route(
            serviceURI: "http://127.0.0.1:8080", serviceKey: SealedBox.PrivateKey().publicKey,
            address: AddressID(random: SystemRandom()))
        var pairing = Pairing(persona: persona, routes: [OwnRoute(route: route, authKey: Ed25519.PrivateKey(), issuedAt: now)])
        pairing.confirmationTimeout = .seconds(5)
        return pairing
    }

    @Test func bothSidesEndWithTheSameRelationshipAndDigits() async throws {
        let (a, b) = Self.connectionPair()
        defer { a.close(); b.close() }
        let alice = try Self.pairing("Alice")
        let bob = try Self.pairing("Bob")
        async let listened = alice.respond(over: a.pairingChannel(timeout: .seconds(60)), now: Self.now, confirm: { _ in true })
        async let initiated = bob.initiate(over: b.pairingChannel(timeout: .seconds(60)), now: Self.now, confirm: { _ in true })
        let (l, i) = try await (listened, initiated)
        #expect(l.sas == i.sas)
        #expect(l.sas.count == 6 && l.sas.allSatisfy(\.isNumber))
        #expect(l.proton.relationshipID == i.proton.relationshipID)
        #expect(l.proton.peerDisplayName == "Bob")
        #expect(i.proton.peerDisplayName == "Alice")
        #expect(l.peerIdentity == bob.persona.publicIdentity)
        #expect(i.peerIdentity == alice.persona.publicIdentity)
    }

    @Test func aRefusalOnOneSideStopsBoth() async throws {
        let (a, b) = Self.connectionPair()
        defer { a.close(); b.close() }
        let alice = try Self.pairing("Alice")
        let bob = try Self.pairing("Bob")
        async let listened = outcome { () async throws(PairingError) in
            try await alice.respond(over: a.pairingChannel(timeout: .seconds(60)), now: Self.now, confirm: { _ in false })
        }
        async let initiated = outcome { () async throws(PairingError) in
            try await bob.initiate(over: b.pairingChannel(timeout: .seconds(60)), now: Self.now, confirm: { _ in true })
        }
        let (l, i) = await (listened, initiated)
        #expect(throws: PairingError.rejectedByUser) { try l.get() }
        #expect(throws: PairingError.sasMismatch) { try i.get() }
    }

    @Test func aPeerThatHangsUpEndsThePairing() async throws {
        let (a, b) = Self.connectionPair()
        defer { a.close() }
        let alice = try Self.pairing("Alice")
        b.close()
        await #expect(throws: PairingError.peerClosed) {
            try await alice.respond(over: a.pairingChannel(timeout: .seconds(60)), now: Self.now, confirm: { _ in true })
        }
    }

    @Test func aSilentPeerTimesOut() async throws {
        let (a, b) = Self.connectionPair()
        defer { a.close(); b.close() }
        let alice = try Self.pairing("Alice")
        await #expect(throws: PairingError.timeout) {
            try await alice.respond(over: a.pairingChannel(timeout: .milliseconds(300)), now: Self.now, confirm: { _ in true })
        }
    }

    /// The frame deadline is far away, so ending with `peerClosed` rather than `timeout` shows
    /// that the shutdown woke the blocked read (no wall-clock assertion: a loaded machine may be
    /// slow to schedule either side).
    @Test func shutDownWakesABlockedReader() async throws {
        let (a, b) = Self.connectionPair()
        defer { a.close(); b.close() }
        let channel = a.pairingChannel(timeout: .seconds(120))
        async let waiting = outcome { () async throws(PairingError) in try await channel.receive() }.error
        try await Task.sleep(for: .milliseconds(100))
        a.shutDown()
        #expect(await waiting == .peerClosed)
    }

    @Test func closingTwiceIsHarmless() {
        let (a, b) = Self.connectionPair()
        a.close()
        a.close()
        b.close()
    }
}

func outcome<T>(_ body: () async throws(PairingError) -> T) async -> Result<T, PairingError> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

extension Result where Failure == PairingError {
    var error: PairingError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
