import AsyncHTTPClient
import Benchmark
import Foundation
import Logging
import ProtonCrypto
import ProtonDirectory
import ProtonServices

// Witnesses (docs/performance.md, "Witnesses"): what cosigning costs a directory's
// registrations, and what checking cosignatures costs a client.

/// Registrations in flight at once: what the directory's batched rounds share.
let witnessConcurrency = 16

/// A directory registry in a temporary directory, and (with `witnesses`) that many witness
/// services on loopback, each cosigning its log, of which `quorum` must answer.
final class WitnessedRegistry: @unchecked Sendable {
    let registry: DirectoryRegistry
    let witnesses: DirectoryWitnesses?
    private let services: [RunningService]
    private var next = 0

    init(witnesses count: Int, quorum: Int) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("proton-bench-witness-\(UUID().uuidString)")
        registry = try await DirectoryRegistry.open(dataDirectory: root.appendingPathComponent("directory"), namespace: "example.org")
        var logger = Logger(label: "bench.witness")
        logger.logLevel = .critical
        var services: [RunningService] = []
        var endpoints: [WitnessEndpoint] = []
        for index in 0..<count {
            let data = root.appendingPathComponent("witness-\(index)")
            let name = "w\(index).example.org"
            let service = try await WitnessService.start(
                configuration: WitnessServiceConfiguration(
                    listen: ListenAddress(host: "127.0.0.1", port: 0), dataDirectory: data, name: name, logs: [registry.verifier], logger: logger))
            services.append(service)
            endpoints.append(WitnessEndpoint(url: service.baseURL, key: try WitnessService.cosigner(dataDirectory: data, name: name).verifier))
        }
        self.services = services
        witnesses = count == 0 ? nil : DirectoryWitnesses(endpoints: endpoints, quorum: quorum, registry: registry, client: .shared, logger: logger)
    }

    /// Registers `count` new names, `witnessConcurrency` at a time, each answered with its
    /// bundle: in a cosigned checkpoint that holds it when there are witnesses.
    func register(_ count: Int) async throws {
        let first = next
        next += count
        let keys = (0..<count).map { _ in Ed25519.PrivateKey().publicKey }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for offset in 0..<count {
                if offset >= witnessConcurrency { try await group.next() }
                group.addTask { [registry, witnesses] in
                    guard case .logged(let binding) = try await registry.register(
                        name: "n\(first + offset)", identityKey: keys[offset], policy: .open, now: Date())
                    else { fatalError("not logged") }
                    let checkpoint = try await witnesses?.checkpoint(atLeast: binding.logIndex + 1)
                    blackHole(try await registry.bundle(for: binding, in: checkpoint))
                }
            }
            try await group.waitForAll()
        }
    }
}

/// A cosigned checkpoint of the million-leaf benchmark log: the log's line and three
/// witnesses' cosignatures, and the policy "2 of these 3".
struct CosignedFixture {
    let note: String
    let bundle: AttestationBundle
    let policy: WitnessPolicy

    static let shared: CosignedFixture = {
        let fixture = directoryFixture
        let cosigners = (0..<3).map { try! Cosigner(name: "w\($0).example.org", key: Ed25519.PrivateKey()) }
        let text = fixture.checkpoint.note.text
        let cosigned = fixture.checkpoint.adding(cosigners.map { $0.cosign(checkpointText: text, timestamp: UInt64(Date().timeIntervalSince1970)) })
        let bundle = AttestationBundle(attestation: fixture.attestation, proof: fixture.proof, checkpoint: cosigned)
        return CosignedFixture(
            note: cosigned.serialized, bundle: bundle, policy: try! WitnessPolicy.threshold(2, of: cosigners.map(\.verifier.verifierKey)))
    }()
}

func registerWitnessBenchmarks() {
    for (witnesses, quorum) in [(0, 0), (3, 2)] {
        let state = Box<WitnessedRegistry?>(nil)
        Benchmark(
            witnesses == 0
                ? "Directory registrations, \(witnessConcurrency) at a time, no witnesses (log append + bundle)"
                : "Directory registrations, \(witnessConcurrency) at a time, \(witnesses) witnesses on loopback, quorum \(quorum) (batched rounds)",
            // Each sample is 1,000 registrations, 16 in flight: the batching is what is measured.
            configuration: configuration(.kilo, maxIterations: 20)
        ) { benchmark async throws in
            let registry: WitnessedRegistry
            if let existing = state.value { registry = existing } else {
                registry = try await WitnessedRegistry(witnesses: witnesses, quorum: quorum)
                state.value = registry
            }
            benchmark.startMeasurement()
            try await registry.register(benchmark.scaledIterations.count)
            benchmark.stopMeasurement()
        }
    }

    // A client checking a batch of 100 bundles under one cosigned checkpoint: the log's
    // signature and the quorum of cosignatures once per batch, then each bundle's validity and
    // 20-hash inclusion proof (as BundleVerifier does, the line above to compare with).
    Benchmark(
        "Directory attestation verify under a cosigned checkpoint (3 cosignatures, quorum 2, once per 100 bundles)",
        configuration: configuration(.kilo, maxIterations: 1_000)
    ) { benchmark in
        let fixture = CosignedFixture.shared
        let verifier = directoryFixture.key.verifier
        benchmark.startMeasurement()
        var verifiedBundles = BundleVerifier(directory: verifier)
        for (index, _) in benchmark.scaledIterations.enumerated() {
            if index % 100 == 0 {
                let note = try! SignedNote(parsing: fixture.note)
                try! note.verified(by: verifier)
                precondition(fixture.policy.isSatisfied(byWitnessesNamed: fixture.policy.cosigners(of: note)))
                verifiedBundles = BundleVerifier(directory: verifier)
            }
            blackHole(try! verifiedBundles.verify(fixture.bundle, now: directoryFixture.now))
        }
    }
}
