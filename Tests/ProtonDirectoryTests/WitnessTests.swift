import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import Testing

/// The witness (c2sp.org/tlog-witness, c2sp.org/tlog-cosignature): the cosignature format byte
/// for byte, every refusal of `add-checkpoint` with its status and nothing stored, and many
/// concurrent submitters never rolling the witnessed size back. A real `WitnessService` on
/// loopback, a real log.
@Suite("Witness", .serialized)
struct WitnessTests {
    static let origin = "log.example.org"
    static let witnessName = "witness.example.org/w1"

    /// A log of `size` leaves signed by `key`, and the witness under test.
    final class Fixture: @unchecked Sendable {
        let log = InMemoryTransparencyLog()
        let key = try! DirectoryKey(name: WitnessTests.origin, privateKey: Ed25519.PrivateKey())
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("witness-\(UUID().uuidString)")
        let service: RunningService
        let witnessKey: CosignatureVerifier

        init() async throws {
            var logger = Logger(label: "test.witness")
            logger.logLevel = .critical
            service = try await WitnessService.start(
                configuration: WitnessServiceConfiguration(
                    listen: ListenAddress(host: "127.0.0.1", port: 0), dataDirectory: data, name: WitnessTests.witnessName,
                    logs: [key.verifier], logger: logger))
            witnessKey = try WitnessService.cosigner(dataDirectory: data, name: WitnessTests.witnessName).verifier
        }

        func grow(to size: UInt64) throws {
            let current = try log.size()
            if size > current { _ = try log.append((current..<size).map { Array("leaf \($0)".utf8) }) }
        }

        /// The signed note of the log's checkpoint at `size`.
        func note(size: UInt64, signer: DirectoryKey? = nil) throws -> SignedNote {
            let checkpoint = try Checkpoint(origin: (signer ?? key).name, size: size, rootHash: log.root(size: size))
            return try (signer ?? key).sign(checkpoint).note
        }

        func request(old: UInt64, size: UInt64, proof: [[UInt8]]? = nil, signer: DirectoryKey? = nil) throws -> [UInt8] {
            let hashes = try proof ?? (old == 0 ? [] : log.consistencyProof(from: old, to: size).hashes)
            return AddCheckpointRequest(oldSize: old, proof: hashes, note: try note(size: size, signer: signer)).encoded()
        }

        struct Answer {
            let status: Int
            let body: String
            let contentType: String?
        }

        func submit(_ body: [UInt8]) async throws -> Answer {
            var request = HTTPClientRequest(url: service.baseURL + "/add-checkpoint")
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1024 * 1024)
            return Answer(
                status: Int(response.status.code), body: String(decoding: bytes.readableBytesView, as: UTF8.self),
                contentType: response.headers.first(name: "Content-Type"))
        }

        /// The latest cosigned checkpoint as stored.
        func stored() throws -> WitnessedCheckpoint? {
            let ledger = try WitnessLedger(dataDirectory: data)
            defer { ledger.close() }
            return try ledger.latest(origin: WitnessTests.origin)
        }

        func stop() async {
            await service.stop()
            try? FileManager.default.removeItem(at: data)
        }
    }

    /// The vector of docs/directory.md ("Witnesses"): a fixed witness key and checkpoint, and
    /// the cosignature line c2sp.org/tlog-cosignature makes of them, checked from its parts.
    @Test func cosignatureLinesAreExactlyAsTheSpecificationSays() throws {
        var seed = [UInt8](repeating: 0x42, count: 32)
        let key = try Ed25519.PrivateKey(seed: &seed)
        let cosigner = try Cosigner(name: Self.witnessName, key: key)
        // key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4]
        let digest = SHA256.hash(Array(Self.witnessName.utf8) + [0x0A, 0x04] + key.publicKey.rawRepresentation)
        #expect(cosigner.verifier.keyID == UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3]))
        let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        let timestamp: UInt64 = 1_679_315_147
        let signature = cosigner.cosign(checkpointText: text, timestamp: timestamp)
        let message = Array("cosignature/v1\ntime 1679315147\n".utf8) + Array(text.utf8)
        #expect(Cosignature.message(checkpointText: text, timestamp: timestamp) == message)
        #expect(Array(signature.signature.prefix(8)) == [0, 0, 0, 0, 0x64, 0x18, 0x50, 0xcb])
        #expect(key.publicKey.isValidSignature(Array(signature.signature.dropFirst(8)), for: message))
        #expect(cosigner.verifier.timestamp(of: signature, checkpointText: text) == timestamp)
        #expect(cosigner.verifier.timestamp(of: signature, checkpointText: text + "x\n") == nil)
        print("cosignature vector: \(cosigner.verifier.verifierKey) | \(signature.line)")
        #expect(cosigner.verifier.verifierKey == Self.vectorVerifierKey)
        #expect(signature.line == Self.vectorLine)
        #expect(try CosignatureVerifier(verifierKey: Self.vectorVerifierKey) == cosigner.verifier)
        // A policy naming this witness counts its valid line, and names a tampered one.
        let policy = try WitnessPolicy.threshold(1, of: [Self.vectorVerifierKey])
        let note = SignedNote(text: text, signatures: [signature])
        #expect(policy.cosigners(of: note) == ["w1"] && policy.invalidCosigners(of: note).isEmpty)
        var tampered = signature.signature
        tampered[8] ^= 1
        let bad = SignedNote(text: text, signatures: [NoteSignature(keyName: signature.keyName, keyID: signature.keyID, signature: tampered)])
        #expect(policy.cosigners(of: bad).isEmpty && policy.invalidCosigners(of: bad) == ["w1"])
        // A note verifier key (type 0x01) is not a cosigner key, nor the other way round.
        #expect(throws: NoteError.self) { try CosignatureVerifier(verifierKey: try NoteVerifier(name: Self.witnessName, publicKey: key.publicKey).verifierKey) }
        #expect(throws: NoteError.self) { try NoteVerifier(verifierKey: Self.vectorVerifierKey) }
    }

    static let vectorVerifierKey = "witness.example.org/w1+f5f05893+BCFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS"
    static let vectorLine =
        "\u{2014} witness.example.org/w1 9fBYkwAAAABkGFDLEqgtDUsneMqeLcGMqk8Xx08OQIVxF72ZJmEtUU5sbo5WiTljN+UF1cQ+vSoh1gRQ0wV3Nz9m8DFvjwHDTDcQBA==\n"

    @Test func theFirstCheckpointAndEachConsistentOneAreCosigned() async throws {
        let fixture = try await Fixture()
        try fixture.grow(to: 5)
        let first = try await fixture.submit(try fixture.request(old: 0, size: 3))
        #expect(first.status == 200, "\(first.body)")
        let text = try fixture.note(size: 3).text
        let line = try SignedNote(parsing: Array((text + "\n" + first.body).utf8))
        #expect(line.signatures.count == 1)
        #expect(fixture.witnessKey.timestamp(of: line.signatures[0], checkpointText: text) != nil)
        #expect(try fixture.stored() == WitnessedCheckpoint(size: 3, rootHash: fixture.log.root(size: 3)))
        #expect(try await fixture.submit(try fixture.request(old: 3, size: 5)).status == 200)
        #expect(try await fixture.submit(try fixture.request(old: 5, size: 5)).status == 200, "the same checkpoint again")
        #expect(try fixture.stored()?.size == 5)
        await fixture.stop()
    }

    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case garbage, leadingZero, noEmptyLine, tooManyProofLines, unknownLog, badSignature, oldSizeAboveSize, staleSize,
            sizeFromZeroWhenKnown, badProof, shortProof, sameSizeOtherRoot, proofBetweenEqualSizes
        var testDescription: String { rawValue }
    }

    /// Each refusal has its status, and the witness's state stays as it was (size 3).
    @Test(arguments: Case.allCases)
    func refusalsStoreNothing(_ refusal: Case) async throws {
        let fixture = try await Fixture()
        try fixture.grow(to: 6)
        #expect(try await fixture.submit(try fixture.request(old: 0, size: 3)).status == 200)
        let before = try fixture.stored()
        let other = try DirectoryKey(name: "other.example.org", privateKey: Ed25519.PrivateKey())
        let impostor = try DirectoryKey(name: Self.origin, privateKey: Ed25519.PrivateKey())
        let (body, status): ([UInt8], Int) =
            switch refusal {
            case .garbage: (Array("hello\n".utf8), 400)
            case .leadingZero: (Array(String(decoding: try fixture.request(old: 3, size: 4), as: UTF8.self).replacingOccurrences(of: "old 3", with: "old 03").utf8), 400)
            case .noEmptyLine: (Array("old 3\n".utf8), 400)
            case .tooManyProofLines: (try fixture.request(old: 3, size: 4, proof: Array(repeating: [UInt8](repeating: 1, count: 32), count: 64)), 400)
            case .unknownLog: (try fixture.request(old: 0, size: 4, signer: other), 404)
            case .badSignature: (try fixture.request(old: 3, size: 4, signer: impostor), 403)
            case .oldSizeAboveSize: (try fixture.request(old: 5, size: 4, proof: []), 400)
            case .staleSize: (try fixture.request(old: 2, size: 4), 409)
            case .sizeFromZeroWhenKnown: (try fixture.request(old: 0, size: 4), 409)
            case .badProof:
                (try fixture.request(old: 3, size: 6, proof: try fixture.log.consistencyProof(from: 3, to: 6).hashes.map { $0.map { $0 ^ 1 } }), 422)
            case .shortProof: (try fixture.request(old: 3, size: 6, proof: Array(try fixture.log.consistencyProof(from: 3, to: 6).hashes.dropLast())), 422)
            case .sameSizeOtherRoot:
                (
                    AddCheckpointRequest(
                        oldSize: 3, proof: [],
                        note: try fixture.key.sign(Checkpoint(origin: Self.origin, size: 3, rootHash: [UInt8](repeating: 9, count: 32))).note
                    ).encoded(), 409
                )
            case .proofBetweenEqualSizes: (try fixture.request(old: 3, size: 3, proof: [[UInt8](repeating: 1, count: 32)]), 422)
            }
        let answer = try await fixture.submit(body)
        #expect(answer.status == status, "\(answer.body)")
        if status == 409 {
            #expect(answer.body == "3\n")
            #expect(answer.contentType == "text/x.tlog.size")
        }
        #expect(try fixture.stored() == before)
        await fixture.stop()
    }

    /// Submitters race with checkpoints of a growing log, each learning the latest size from a
    /// 409 and proving consistency from it. The stored size never goes down, every cosigned
    /// checkpoint was consistent with the one before it, and the last is the largest.
    @Test func concurrentSubmittersNeverRollTheWitnessBack() async throws {
        let fixture = try await Fixture()
        let final: UInt64 = 64
        try fixture.grow(to: final)
        let observations = LockedSizes()
        let watcher = Task {
            while !Task.isCancelled {
                if let size = try? fixture.stored()?.size { observations.append(size) }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        try await withThrowingTaskGroup(of: Tally.self) { group in
            for submitter in 0..<16 {
                group.addTask {
                    var tally = Tally()
                    var old: UInt64 = 0
                    for round in 0..<12 {
                        // Mostly ahead of what this submitter last saw; sometimes behind it.
                        let step = UInt64((submitter * 7 + round * 5) % 9)
                        let size = step == 0 ? max(1, old / 2) : min(final, old + step)
                        let answer = try await fixture.submit(try fixture.request(old: old, size: size, proof: old > size ? [] : nil))
                        switch answer.status {
                        case 200:
                            tally.accepted += 1
                            old = size
                        case 409:
                            tally.conflicts += 1
                            old = UInt64(answer.body.dropLast()) ?? 0
                        case 400: break  // the latest size passed `size`: an old size above it
                        default: Issue.record("status \(answer.status): \(answer.body)")
                        }
                    }
                    return tally
                }
            }
            var total = Tally()
            for try await tally in group {
                total.accepted += tally.accepted
                total.conflicts += tally.conflicts
            }
            // Both happened: cosignatures, and submissions that lost a race and were told the size.
            #expect(total.accepted > 0 && total.conflicts > 0, "\(total)")
        }
        // One more submission from the latest to the end.
        let latest = try #require(try fixture.stored())
        #expect(try await fixture.submit(try fixture.request(old: latest.size, size: final)).status == 200)
        watcher.cancel()
        let sizes = observations.values
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 <= $1 }, "the stored size went down: \(sizes)")
        #expect(try fixture.stored() == WitnessedCheckpoint(size: final, rootHash: fixture.log.root(size: final)))
        await fixture.stop()
    }

    struct Tally: Sendable {
        var accepted = 0
        var conflicts = 0
    }

    final class LockedSizes: @unchecked Sendable {
        private let lock = NSLock()
        private var sizes: [UInt64] = []
        func append(_ size: UInt64) { lock.withLock { sizes.append(size) } }
        var values: [UInt64] { lock.withLock { sizes } }
    }

    /// The specification's example policy (two groups of three witnesses; two of the X
    /// witnesses and one of the Y witnesses), with real keys, and the refusals of the format.
    @Test func policiesAreReadAsTheSpecificationSays() throws {
        let keys = (0..<6).map { index in
            try! CosignatureVerifier(name: "w\(index).example.org", publicKey: Ed25519.PrivateKey().publicKey).verifierKey
        }
        let log = try DirectoryKey(name: Self.origin, privateKey: Ed25519.PrivateKey()).verifier.verifierKey
        let text = """
            # two operators
            log \(log)

            witness X1 \(keys[0])
            witness X2 \(keys[1])
            witness X3 \(keys[2]) https://x3.example.org
            group X-witnesses 2 X1 X2 X3
            \twitness Y1 \(keys[3])
            witness Y2 \(keys[4])
            witness Y3 \(keys[5])
            group Y-witnesses any Y1 Y2 Y3
            group X-and-Y all X-witnesses Y-witnesses
            quorum X-and-Y

            """
        let policy = try WitnessPolicy(parsing: text)
        #expect(policy.logs == [log])
        #expect(policy.witnesses.count == 6 && policy.groups.count == 3)
        #expect(policy.isSatisfied(byWitnessesNamed: ["X1", "X3", "Y2"]))
        #expect(!policy.isSatisfied(byWitnessesNamed: ["X1", "Y1", "Y2", "Y3"]), "one X witness is not two")
        #expect(!policy.isSatisfied(byWitnessesNamed: ["X1", "X2", "X3"]), "no Y witness")
        #expect(try WitnessPolicy(parsing: "quorum none\n").isSatisfied(byWitnessesNamed: []))
        let threshold = try WitnessPolicy.threshold(2, of: Array(keys.prefix(3)))
        #expect(threshold.isSatisfied(byWitnessesNamed: ["w1", "w3"]) && !threshold.isSatisfied(byWitnessesNamed: ["w2"]))

        let witness = "witness A \(keys[0])\n"
        let refused: [(String, String)] = [
            ("", "no quorum line"),
            (witness + "quorum A\nquorum A\n", "a second quorum line"),
            (witness + "quorum B\n", "B is not defined above"),
            (witness + "witness A \(keys[1])\nquorum A\n", "defined twice"),
            (witness + "witness B \(keys[0])\nquorum A\n", "a duplicate witness"),
            (witness + "group G 2 A\nquorum G\n", "the threshold"),
            (witness + "group G 0 A\nquorum G\n", "the threshold"),
            (witness + "group G any A A\nquorum G\n", "listed twice"),
            (witness + "witness B \(keys[1])\ngroup G any A B\ngroup Q 2 A G\nquorum Q\n", "already a member of another group"),
            (witness + "group G any none\nquorum G\n", "none is not a witness or group"),
            (witness + "group G any H\ngroup H any A\nquorum G\n", "H is not a witness or group defined above"),
            ("witness A \(log)\nquorum A\n", "not a cosigner key"),
            ("log \(keys[0])\nquorum none\n", "not a log verifier key"),
            (witness + "trust A\nquorum A\n", "unknown keyword"),
            (witness + "quorum A\r\n", "control character"),
        ]
        for (text, reason) in refused {
            #expect(throws: WitnessPolicy.Invalid.self, "\(reason)") { try WitnessPolicy(parsing: text) }
            do { _ = try WitnessPolicy(parsing: text) } catch { #expect(error.description.contains(reason), "\(error) for \(reason)") }
        }
    }
}
