// A witness's resident memory over 100,000 checkpoints (docs/performance.md, "Witnesses").
//
// A witness service runs in this process on loopback (SQLite in a temporary directory),
// witnessing one log. The log (`SQLiteTransparencyLog`, on disk, so the driver's memory does not
// grow with it) is filled with 100,000 leaves first; then checkpoint after checkpoint of sizes
// 1, 2, …, 100,000, each signed by the log's key, goes to `POST /add-checkpoint` with its
// consistency proof from the previous one, exactly as a directory submits them, and each must be
// cosigned. At 0, 25%, 50%, 75% and 100% of them the process's VmRSS is read. Run by
// `make bench` after the receiving service's memory run (`PROTON_WITNESS_CHECKPOINTS=N`).
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

enum WitnessMemory {
    static func run(checkpoints total: Int) async throws {
        var logger = Logger(label: "bench.witness")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proton-witness-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let key = try DirectoryKey(name: "log.example.org", privateKey: Ed25519.PrivateKey())
        let log = try SQLiteTransparencyLog(path: directory.appendingPathComponent("log.sqlite").path)
        var appended = 0
        while appended < total {
            let chunk = min(10_000, total - appended)
            try log.append((0..<chunk).map { Array("leaf \(appended + $0)".utf8) })
            appended += chunk
        }
        let service = try await WitnessService.start(
            configuration: WitnessServiceConfiguration(
                listen: ListenAddress(host: "127.0.0.1", port: 0), dataDirectory: directory.appendingPathComponent("witness"),
                name: "witness.example.org/w1", logs: [key.verifier], logger: logger))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)

        /// Submits the checkpoint of `size` with its proof from `size - 1`; it must be cosigned.
        func submit(size: UInt64) async throws {
            let checkpoint = try Checkpoint(origin: key.name, size: size, rootHash: try log.root(size: size))
            let proof = size == 1 ? [] : try log.consistencyProof(from: size - 1, to: size).hashes
            let body = AddCheckpointRequest(oldSize: size - 1, proof: proof, note: try key.sign(checkpoint).note).encoded()
            var request = HTTPClientRequest(url: service.baseURL + "/add-checkpoint")
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await httpClient.execute(request, timeout: .seconds(30))
            let answer = try await response.body.collect(upTo: 4096)
            precondition(
                response.status.code == 200 && String(buffer: answer).hasPrefix("\u{2014} witness.example.org/w1 "),
                "checkpoint \(size): \(response.status.code) \(String(buffer: answer))")
        }

        print("Witness memory over \(total) checkpoints of one log, each with its consistency proof, over HTTP")
        print("")
        print("| Checkpoints cosigned | VmRSS | Witness database + WAL | Checkpoints/s since the previous row |")
        print("| ---: | ---: | ---: | ---: |")
        func databaseMiB() -> String {
            let files = [WitnessLedger.fileName, WitnessLedger.fileName + "-wal"]
            let bytes = files.compactMap { name -> Int? in
                (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("witness").appendingPathComponent(name).path))?[.size]
                    as? Int
            }.reduce(0, +)
            return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
        }
        var cosigned = 0
        for row in (0...4).map({ total * $0 / 4 }) {
            let start = ContinuousClock.now
            let from = cosigned
            while cosigned < row {
                cosigned += 1
                try await submit(size: UInt64(cosigned))
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = row == from ? "" : String(format: "%.0f", Double(row - from) / seconds)
            print("| \(cosigned) | \(megabytes(residentKiB())) | \(databaseMiB()) | \(rate) |")
        }
        try await httpClient.shutdown()
        await service.stop()
    }
}
