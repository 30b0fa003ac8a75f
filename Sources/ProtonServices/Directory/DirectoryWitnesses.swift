import AsyncHTTPClient
import Foundation
import Logging
import ProtonDirectory
import ProtonHTTP

/// One witness a directory submits its checkpoints to: where (its submission prefix) and its
/// cosigner key.
public struct WitnessEndpoint: Sendable, Equatable {
    public let url: String
    public let key: CosignatureVerifier

    public init(url: String, key: CosignatureVerifier) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.key = key
    }

    /// `URL=VKEY` (the form `proton serve directory --witness` takes).
    public init?(_ text: String) {
        guard let equals = text.firstIndex(of: "="), let key = try? CosignatureVerifier(verifierKey: String(text[text.index(after: equals)...]))
        else { return nil }
        let url = String(text[..<equals])
        guard let scheme = URLComponents(string: url)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else { return nil }
        self.init(url: url, key: key)
    }
}

/// The directory's side of c2sp.org/tlog-witness: it submits its newest checkpoint to its
/// witnesses and serves the newest checkpoint cosigned by at least `quorum` of them.
///
/// Rounds run one at a time (an actor): every append that happens while a round is out is
/// covered by the next round, which submits the log's newest checkpoint, so the witnesses are
/// asked once per batch of appends, not once per name. Each witness's latest size is learnt
/// from its 409 answer and the proof is made from there.
public actor DirectoryWitnesses {
    public let endpoints: [WitnessEndpoint]
    public let quorum: Int
    private let registry: DirectoryRegistry
    private let client: HTTPClient
    private let logger: Logger
    private let timeout: TimeInterval
    /// The latest size each witness cosigned, as far as we know (nil: not yet known).
    private var witnessedSize: [UInt64?]
    /// The newest checkpoint with a quorum of cosignatures.
    private var cosigned: SignedCheckpoint?
    /// Rounds asked for and rounds completed: a caller waits for a round that started after
    /// its append.
    private var requestedRound = 0
    private var completedRound = 0
    private var running = false
    private var waiters: [(round: Int, continuation: CheckedContinuation<Void, Never>)] = []
    public private(set) var rounds = 0

    public init(endpoints: [WitnessEndpoint], quorum: Int, registry: DirectoryRegistry, client: HTTPClient, logger: Logger, timeout: TimeInterval = 10) {
        self.endpoints = endpoints
        self.quorum = quorum
        self.registry = registry
        self.client = client
        self.logger = logger
        self.timeout = timeout
        witnessedSize = Array(repeating: nil, count: endpoints.count)
    }

    public enum Failure: Error, CustomStringConvertible {
        case noQuorum(size: UInt64, have: Int, need: Int)

        public var description: String {
            switch self {
            case .noQuorum(let size, let have, let need):
                "The witnesses cosigned the checkpoint of size \(size) \(have) times, fewer than the \(need) required."
            }
        }
    }

    /// The newest cosigned checkpoint of at least `size` leaves, asking the witnesses for one
    /// when there is none yet. Throws when a round ends without a quorum for it.
    public func checkpoint(atLeast size: UInt64) async throws -> SignedCheckpoint {
        if let cosigned, cosigned.checkpoint.size >= size { return cosigned }
        requestedRound += 1
        let round = requestedRound
        if !running {
            running = true
            Task { await self.runRounds() }
        }
        await withCheckedContinuation { continuation in waiters.append((round, continuation)) }
        if let cosigned, cosigned.checkpoint.size >= size { return cosigned }
        throw Failure.noQuorum(size: size, have: 0, need: quorum)
    }

    private func runRounds() async {
        while completedRound < requestedRound {
            let target = requestedRound
            await round()
            completedRound = target
            let ready = waiters.filter { $0.round <= target }
            waiters.removeAll { $0.round <= target }
            for waiter in ready { waiter.continuation.resume() }
        }
        running = false
    }

    /// Submits the log's newest checkpoint to every witness at once and keeps it if a quorum
    /// cosigned it.
    private func round() async {
        rounds += 1
        let signed: SignedCheckpoint
        do { signed = try await registry.signedCheckpoint() } catch {
            logger.error("cannot sign the checkpoint for the witnesses: \(error)")
            return
        }
        let known = witnessedSize
        let results = await withTaskGroup(of: SubmissionResult.self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                group.addTask { [registry, client, timeout, logger] in
                    await Self.submit(signed, to: endpoint, index: index, known: known[index], registry: registry, client: client, timeout: timeout, logger: logger)
                }
            }
            var results: [SubmissionResult] = []
            for await result in group { results.append(result) }
            return results
        }
        var lines: [NoteSignature] = []
        for result in results {
            if let size = result.witnessedSize { witnessedSize[result.index] = size }
            if let line = result.cosignature { lines.append(line) }
        }
        guard lines.count >= quorum else {
            logger.warning("no quorum of witnesses for the checkpoint of size \(signed.checkpoint.size): \(lines.count) of \(quorum)")
            return
        }
        if cosigned == nil || cosigned!.checkpoint.size <= signed.checkpoint.size { cosigned = signed.adding(lines) }
    }

    /// One witness's answer to one round. A struct, not a tuple: see `ReceiveAgent.startFetch`.
    struct SubmissionResult: Sendable {
        let index: Int
        let witnessedSize: UInt64?
        let cosignature: NoteSignature?
    }

    /// Submits `signed` with a proof from the witness's latest size; a 409 tells that size, and
    /// the submission is made once more from it.
    private static func submit(
        _ signed: SignedCheckpoint, to endpoint: WitnessEndpoint, index: Int, known: UInt64?, registry: DirectoryRegistry, client: HTTPClient,
        timeout: TimeInterval, logger: Logger
    ) async -> SubmissionResult {
        var old = known ?? 0
        for _ in 0..<2 {
            guard old <= signed.checkpoint.size else { break }
            let proof: [[UInt8]]
            do { proof = old == 0 ? [] : try await registry.storage.consistencyProof(from: old, to: signed.checkpoint.size).hashes } catch {
                logger.error("cannot prove \(old) to \(signed.checkpoint.size) for \(endpoint.url): \(error)")
                break
            }
            let body = AddCheckpointRequest(oldSize: old, proof: proof, note: signed.note).encoded()
            let answer: ServiceHTTP.Response
            do {
                answer = try await ServiceHTTP.perform(
                    .POST, endpoint.url + "/add-checkpoint", body: body, contentType: "text/plain; charset=utf-8", client: client, timeout: timeout,
                    bodyLimit: 64 * 1024)
            } catch {
                logger.warning("witness \(endpoint.url) unreachable: \(error)")
                return SubmissionResult(index: index, witnessedSize: nil, cosignature: nil)
            }
            let text = String(decoding: answer.body, as: UTF8.self)
            switch answer.status {
            case 200:
                let lines = (try? SignedNote(parsing: Array((signed.note.text + "\n" + text).utf8)))?.signatures ?? []
                let valid = lines.first { endpoint.key.timestamp(of: $0, checkpointText: signed.note.text) != nil }
                if valid == nil { logger.warning("witness \(endpoint.url) answered without a valid cosignature") }
                return SubmissionResult(index: index, witnessedSize: valid == nil ? nil : signed.checkpoint.size, cosignature: valid)
            case 409:
                guard let latest = AddCheckpointRequest.decimal(Substring(text.hasSuffix("\n") ? String(text.dropLast()) : text)), latest != old else {
                    logger.warning("witness \(endpoint.url) refused the checkpoint of size \(signed.checkpoint.size): 409 \(text)")
                    return SubmissionResult(index: index, witnessedSize: nil, cosignature: nil)
                }
                old = latest
            default:
                logger.warning("witness \(endpoint.url) refused the checkpoint of size \(signed.checkpoint.size): \(answer.status) \(text)")
                return SubmissionResult(index: index, witnessedSize: nil, cosignature: nil)
            }
        }
        logger.warning("witness \(endpoint.url) holds a checkpoint this log does not extend (size \(old))")
        return SubmissionResult(index: index, witnessedSize: old, cosignature: nil)
    }
}
