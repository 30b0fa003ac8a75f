import Benchmark
import Foundation
import ProtonCrypto
import ProtonDirectory

// The attesting directory's transparency log (docs/performance.md, "Directory"): attestation
// verification on one core, inclusion-proof generation from a 1,000,000-leaf SQLite log, and
// the log's append rate.

let directoryLogSize: UInt64 = 1_000_000
/// The attestation the verification benchmark checks sits here, in the middle of the tree, so
/// its proof has the full 20 hashes of a million-leaf tree.
let directoryAttestationIndex: UInt64 = 500_000

struct DirectoryFixture {
    let key: DirectoryKey
    let log: SQLiteTransparencyLog
    let attestation: Attestation
    let checkpoint: SignedCheckpoint
    let proof: InclusionProof
    let bundle: AttestationBundle
    let now: Date
}

/// A filler leaf of an attestation's size (the log never looks inside its leaves).
func directoryFillerLeaf(_ index: UInt64) -> [UInt8] {
    var leaf = [UInt8](repeating: 0, count: 180)
    var value = index
    for position in 0..<8 {
        leaf[position] = UInt8(value & 0xff)
        value >>= 8
    }
    return leaf
}

/// Builds the million-leaf log once per process, in transactions of 50,000 leaves, with one
/// real attestation at `directoryAttestationIndex`.
let directoryFixture: DirectoryFixture = {
    let key = try! DirectoryKey(name: "directory.example.org", privateKey: Ed25519.PrivateKey())
    let now = Date()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-bench-directory-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let log = try! SQLiteTransparencyLog(path: directory.appendingPathComponent("log.sqlite").path)
    let persona = Ed25519.PrivateKey()
    var attestation: Attestation?
    let started = Date()
    while try! log.size() < directoryLogSize {
        try! log.append(building: { first in
            let count = min(UInt64(50_000), directoryLogSize - first)
            return (first..<first + count).map { index in
                guard index == directoryAttestationIndex else { return directoryFillerLeaf(index) }
                let statement = try! Attestation(
                    kind: .attestation, namespace: "example.org", name: "alice", identityKey: persona.publicKey,
                    issued: now.addingTimeInterval(-60), expires: now.addingTimeInterval(365 * 86_400), logIndex: index, signedBy: key)
                attestation = statement
                return statement.encoded()
            }
        })
    }
    print("Directory: built a \(directoryLogSize)-leaf SQLite log in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    let checkpoint = try! key.sign(try! log.checkpoint(origin: key.name))
    let proof = try! log.inclusionProof(index: directoryAttestationIndex, size: directoryLogSize)
    let bundle = AttestationBundle(attestation: attestation!, proof: proof, checkpoint: checkpoint)
    return DirectoryFixture(
        key: key, log: log, attestation: attestation!, checkpoint: checkpoint, proof: proof, bundle: bundle, now: now)
}()

func registerDirectoryBenchmarks() {
    // What a client does for each attestation once it holds a verified checkpoint: the
    // directory's Ed25519 signature and validity window, then the 20-hash inclusion proof.
    Benchmark(
        "Directory attestation verify (signature + inclusion proof, 1M-leaf tree)",
        configuration: configuration(.kilo, maxIterations: 1_000)
    ) { benchmark in
        let fixture = directoryFixture
        let verifier = fixture.key.verifier
        let root = fixture.checkpoint.checkpoint.rootHash
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try! fixture.attestation.verify(directory: verifier, now: fixture.now)
            try! fixture.proof.verify(leafHash: fixture.attestation.leafHash, root: root)
        }
    }

    // A client checking many bundles of one directory (its contact list, say) with
    // BundleVerifier: the checkpoint's signature is verified once and cached, then each
    // attestation by its validity window and its 20-hash inclusion proof under that signed
    // root (its own signature adds nothing once its leaf is proven in the signed tree).
    Benchmark(
        "Directory attestation verify, checkpoint verified once (BundleVerifier: validity + inclusion proof)",
        configuration: configuration(.kilo, maxIterations: 1_000)
    ) { benchmark in
        let fixture = directoryFixture
        var verifier = BundleVerifier(directory: fixture.key.verifier)
        try! verifier.verify(fixture.bundle, now: fixture.now)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try! verifier.verify(fixture.bundle, now: fixture.now))
        }
    }

    // The floor under the first line: one Ed25519 verification (libsodium through
    // ProtonCrypto) of a message the size of an attestation's signed part.
    Benchmark(
        "Directory floor: Ed25519 verify alone (69-byte message)",
        configuration: configuration(.kilo, maxIterations: 1_000)
    ) { benchmark in
        let key = Ed25519.PrivateKey()
        let message = [UInt8](repeating: 0x42, count: 69)
        let signature = key.signature(for: message)
        let publicKey = key.publicKey
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            precondition(publicKey.isValidSignature(signature, for: message))
        }
    }

    // The inclusion proof alone (20 hashes), for the same attestation.
    Benchmark(
        "Directory inclusion proof verify alone (20 hashes)",
        configuration: configuration(.kilo, maxIterations: 1_000)
    ) { benchmark in
        let fixture = directoryFixture
        let root = fixture.checkpoint.checkpoint.rootHash
        let leafHash = fixture.attestation.leafHash
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try! fixture.proof.verify(leafHash: leafHash, root: root)
        }
    }

    // The whole offline check of a bundle from its bytes: parse, checkpoint note signature,
    // attestation signature, inclusion proof (two Ed25519 verifications).
    Benchmark(
        "Directory attestation bundle verify from bytes (2 signatures + proof)",
        configuration: configuration(.kilo, maxIterations: 1_000)
    ) { benchmark in
        let fixture = directoryFixture
        let verifier = fixture.key.verifier
        let bytes = fixture.bundle.encoded()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try! AttestationBundle(decoding: bytes).verify(directory: verifier, now: fixture.now))
        }
    }

    // Inclusion-proof generation from the SQLite log: one read transaction, ~20 primary-key
    // lookups, for a random leaf of the 1,000,000-leaf tree.
    Benchmark(
        "Directory inclusion proof from a 1M-leaf SQLite log",
        configuration: configuration(.one, maxIterations: 50_000)
    ) { benchmark in
        let fixture = directoryFixture
        var random = SystemRandomNumberGenerator()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let index = UInt64.random(in: 0..<directoryLogSize, using: &random)
            blackHole(try! fixture.log.inclusionProof(index: index, size: directoryLogSize))
        }
    }

    // Appends in batches of 1,000 leaves, one durable transaction each (synchronous = FULL);
    // each sample is one batch, so the throughput row reads thousands of leaves/s.
    let appendLog = Box<SQLiteTransparencyLog?>(nil)
    Benchmark(
        "Directory log append, batches of 1,000 leaves (one transaction each)",
        configuration: configuration(.kilo, maxIterations: 200)
    ) { benchmark in
        let log = try appendLog.value ?? {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-bench-append-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteTransparencyLog(path: directory.appendingPathComponent("log.sqlite").path)
        }()
        appendLog.value = log
        let next = try log.size()
        let batch = benchmark.scaledIterations.map { directoryFillerLeaf(next + UInt64($0)) }
        benchmark.startMeasurement()
        try log.append(batch)
    }

    // One leaf per transaction: what a directory that commits every registration on its own
    // gets (bounded by the fsync).
    let singleLog = Box<SQLiteTransparencyLog?>(nil)
    Benchmark(
        "Directory log append, 1 leaf per transaction",
        configuration: configuration(.one, maxIterations: 2_000)
    ) { benchmark in
        let log = try singleLog.value ?? {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-bench-single-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteTransparencyLog(path: directory.appendingPathComponent("log.sqlite").path)
        }()
        singleLog.value = log
        let next = try log.size()
        benchmark.startMeasurement()
        for offset in benchmark.scaledIterations {
            try log.append(directoryFillerLeaf(next + UInt64(offset)))
        }
    }
}
