import Benchmark
import Foundation
import ProtonCore
import ProtonCrypto
import ProtonPairing

#if canImport(Glibc)
import Glibc
#endif

/// The whole pairing handshake of docs/pairing.md — commitment, Noise XX, SAS, both
/// confirmations (answered at once), key packages both ways, X3DH and the first ratchet message
/// each way — between two in-process parties over an AF_UNIX socket pair through
/// `FileDescriptorChannel`, the channel `proton pair` runs over an RFCOMM socket. Measures the
/// protocol's own cost: what RFCOMM adds is measured in the VM by Hardware/vm-test.
func registerPairingBenchmarks() {
    let parties = Box<(Pairing, Pairing)?>(nil)
    Benchmark(
        "Pairing handshake over a socket pair (both sides)",
        configuration: .init(
            metrics: [.throughput, .wallClock], units: [.throughput: .count], warmupIterations: 5,
            scalingFactor: .one, maxDuration: .seconds(8), maxIterations: 2_000)
    ) { benchmark in
        let (listener, initiator) = try parties.value ?? (pairingParty("Alice"), pairingParty("Bob"))
        parties.value = (listener, initiator)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var fds: [Int32] = [0, 0]
            precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            let a = FileDescriptorChannel(fileDescriptor: fds[0], timeout: .seconds(10))
            let b = FileDescriptorChannel(fileDescriptor: fds[1], timeout: .seconds(10))
            async let responded = listener.respond(over: a, confirm: { _ in true })
            async let initiated = initiator.initiate(over: b, confirm: { _ in true })
            let (r, i) = try await (responded, initiated)
            precondition(r.sas == i.sas)
            blackHole((r, i))
            close(fds[0])
            close(fds[1])
        }
    }
}

private func pairingParty(_ name: String) throws -> Pairing {
    let random = SystemRandom()
    let route = try Route(
        serviceURI: "http://127.0.0.1:8080", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: random))
    return Pairing(
        persona: try Persona(displayName: name, random: random),
        routes: [OwnRoute(route: route, authKey: Ed25519.PrivateKey(), issuedAt: Date())])
}
