import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonPairing
import ProtonServices
import Testing

@testable import ProtonClient

/// Two profiles pairing through `Profile.pair` over a local stream socket (what an RFCOMM
/// connection is to the handshake), with real services on loopback: a confirmed pairing
/// stores the relationship on both sides and its addresses carry messages; a refused one
/// stores nothing and retires the address it had made.
@Suite(.serialized)
struct ProfilePairingTests {
    typealias World = ProfileConversationTests.World

    /// Two ends of a local stream socket, as pairing channels.
    struct Link {
        let listener: FileDescriptorChannel
        let initiator: FileDescriptorChannel
        let descriptors: [Int32]

        init() {
            var fds: [Int32] = [0, 0]
            precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            descriptors = fds
            listener = FileDescriptorChannel(fileDescriptor: fds[0], timeout: .seconds(60))
            initiator = FileDescriptorChannel(fileDescriptor: fds[1], timeout: .seconds(60))
        }

        func close() {
            for fd in descriptors {
                _ = shutdown(fd, Int32(SHUT_RDWR))
                _ = Glibc.close(fd)
            }
        }
    }

    /// Alice listens and Bob connects; each answers the digits with `aliceSays` / `bobSays`.
    static func pair(_ world: World, aliceSays: Bool = true, bobSays: Bool = true) async throws -> (
        alice: Result<Profile.Paired, ProfileError>, bob: Result<Profile.Paired, ProfileError>,
        prepared: (alice: Profile.PreparedPairing, bob: Profile.PreparedPairing), digits: (String?, String?)
    ) {
        let alicePrepared = try await world.alice.preparePairing(as: try await world.alice.persona(matching: nil), presenting: nil)
        let bobPrepared = try await world.bob.preparePairing(as: try await world.bob.persona(matching: nil), presenting: nil)
        let link = Link()
        defer { link.close() }
        let aliceDigits = Digits()
        let bobDigits = Digits()
        async let alice = Self.result {
            try await world.alice.pair(alicePrepared, over: link.listener, role: .listener) { sas in
                aliceDigits.value = sas
                return aliceSays
            }
        }
        async let bob = Self.result {
            try await world.bob.pair(bobPrepared, over: link.initiator, role: .initiator) { sas in
                bobDigits.value = sas
                return bobSays
            }
        }
        return (await alice, await bob, (alicePrepared, bobPrepared), (aliceDigits.value, bobDigits.value))
    }

    final class Digits: @unchecked Sendable {
        var value: String?
    }

    static func result(_ body: () async throws -> Profile.Paired) async -> Result<Profile.Paired, ProfileError> {
        do { return .success(try await body()) } catch let error as ProfileError { return .failure(error) } catch {
            return .failure(.unexpected("not a ProfileError: \(error)"))
        }
    }

    @Test func aConfirmedPairingStoresTheRelationshipOnBothSidesAndItCarriesMessages() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let (alice, bob, prepared, digits) = try await Self.pair(world)
        let aliceSide = try alice.get()
        let bobSide = try bob.get()

        // Both people saw the same six digits; both sides hold the same relationship.
        #expect(digits.0 != nil && digits.0 == digits.1 && aliceSide.sas == digits.0)
        #expect(aliceSide.proton.relationshipID == bobSide.proton.relationshipID)
        #expect(aliceSide.proton.safetyNumber.description == bobSide.proton.safetyNumber.description)
        #expect(aliceSide.peerIdentity == bobSide.persona.identityKey && bobSide.peerIdentity == aliceSide.persona.identityKey)
        #expect(!aliceSide.peerAttestation.presented)
        #expect(try await world.alice.contacts().map(\.name) == ["Bob"])
        #expect(try await world.bob.contacts().map(\.name) == ["Alice"])

        // The addresses exchanged in the pairing carry messages both ways.
        #expect(try await world.alice.send(Array("paired, Bob".utf8), to: aliceSide.protonID).delivered)
        #expect(World.bodies(try await world.bob.receive(wait: 5)) == ["paired, Bob"])
        #expect(try await world.bob.send(Array("paired, Alice".utf8), to: bobSide.protonID).delivered)
        #expect(World.bodies(try await world.alice.receive(wait: 5)) == ["paired, Alice"])

        // A prepared pairing serves once: used again it is refused, and cancelled after its
        // pairing it retires nothing (the relationship's address still takes messages).
        let unused = Link()
        defer { unused.close() }
        await #expect(throws: ProfileError.pairingAlreadyUsed) {
            _ = try await world.alice.pair(prepared.alice, over: unused.listener, role: .listener) { _ in true }
        }
        await world.alice.cancelPairing(prepared.alice)
        #expect(try await world.bob.send(Array("still here".utf8), to: bobSide.protonID).delivered)
        #expect(World.bodies(try await world.alice.receive(wait: 5)) == ["still here"])
    }

    @Test func digitsThatDoNotMatchStoreNothingAndRetireTheAddresses() async throws {
        let world = try await World()
        defer { Task { await world.stop() } }
        let (alice, bob, prepared, _) = try await Self.pair(world, bobSays: false)

        #expect(throws: ProfileError.pairing(.rejectedByUser)) { _ = try bob.get() }
        #expect {
            _ = try alice.get()
        } throws: { error in
            if case ProfileError.pairing = error { true } else { false }
        }
        #expect(try await world.alice.contacts().isEmpty)
        #expect(try await world.bob.contacts().isEmpty)
        // Each side's fresh address was retired at the service: a delivery to it is refused.
        for route in [prepared.alice.route, prepared.bob.route] {
            await #expect(throws: RelayError.addressRetired(route.route.address)) {
                try await DirectRelay().deliver(Envelope(sealing: [1], to: route.route, random: SystemRandom()), to: route.route)
            }
        }
    }

    @Test func withoutAReceivingServiceNothingIsPrepared() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonPairing-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let profile = try Profile.create(at: root, displayName: "Carol", passphrase: nil)
        defer { profile.close() }
        await #expect(throws: ProfileError.agent(.noReceivingService)) {
            _ = try await profile.preparePairing(as: try await profile.persona(matching: nil), presenting: nil)
        }
    }
}
