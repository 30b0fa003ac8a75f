import Foundation
import ProtonCore
import ProtonCrypto
import ProtonPairing

/// The Bluetooth pairing on hostile RFCOMM bytes: each side runs the whole protocol (commitment,
/// Noise XXhfs, SAS nonces and confirmation, key packages, attestation, X3DH start) against a
/// stream that is the fuzz input cut into frames. Keys and clock are fixed, so a recorded
/// genuine exchange (the seed) replays to the end. A mutation is refused at the frame it
/// changes: after the handshake every frame is authenticated, so the later stages see only
/// genuine bytes, and what is fuzzed is the framing, the clear frames (commitment, Noise
/// messages) and every stage's answer to a wrong, missing, cut or oversized frame.
enum PairingTargets {
    static let all: [FuzzTarget] = [responder, initiator]

    static let responder = FuzzTarget(
        "pairing-responder", "The listening side of a pairing fed hostile frames; it completes only with the genuine peer",
        seeds: { [Recording.shared.toResponder] }
    ) { input throws(FuzzViolation) in
        // The recording first (outside any task), so that its keys are the ones
        // `Encapsulations` remembers.
        _ = Recording.shared
        return try check(role: "pairing-responder", Fixtures.blocking { await run(input, responding: true) })
    }

    static let initiator = FuzzTarget(
        "pairing-initiator", "The connecting side of a pairing fed hostile frames; it completes only with the genuine peer",
        seeds: { [Recording.shared.toInitiator] }
    ) { input throws(FuzzViolation) in
        // The recording first (outside any task), so that its keys are the ones
        // `Encapsulations` remembers.
        _ = Recording.shared
        return try check(role: "pairing-initiator", Fixtures.blocking { await run(input, responding: false) })
    }

    /// True if the pairing completed, which it may only with the genuine peer.
    private static func check(role: String, _ outcome: Result<PairingResult, PairingError>) throws(FuzzViolation) -> Bool {
        guard case .success(let result) = outcome else { return false }
        let expected = role == "pairing-responder" ? Seeds.blair : Seeds.alex
        try require(result.peerIdentity == expected.publicIdentity, role, "a pairing completed with an identity that is not the peer's")
        return true
    }

    static let pairingAlex: Pairing = {
        var pairing = Pairing(persona: Seeds.alex, routes: [Fixtures.ownRoute("pairing-alex")], attestation: Seeds.Directory.bundle.encoded())
        pairing.encapsulation = { key in Encapsulations.shared.to(key) }
        return pairing
    }()
    static let pairingBlair: Pairing = {
        var pairing = Pairing(persona: Seeds.blair, routes: [Fixtures.ownRoute("pairing-blair")])
        pairing.encapsulation = { key in Encapsulations.shared.to(key) }
        return pairing
    }()

    /// One ML-KEM encapsulation per key for the life of the process: the responder's in the
    /// handshake and the initiator's start are then the recorded ones on every replay (ML-KEM
    /// draws its own randomness otherwise).
    final class Encapsulations: @unchecked Sendable {
        static let shared = Encapsulations()
        private let lock = NSLock()
        private var byKey: [[UInt8]: MLKEM.Encapsulation] = [:]

        /// The keys remembered: the recorded pairing's (its e1 and its key package's KEM key);
        /// a fuzzed e1 that is still a valid key gets a fresh encapsulation, not remembered, so
        /// the cache stays this small over a long run.
        static let capacity = 4

        func to(_ key: MLKEM.PublicKey) -> MLKEM.Encapsulation {
            lock.withLock {
                if let known = byKey[key.rawRepresentation] { return known }
                let fresh = key.encapsulate()
                if byKey.count < Self.capacity { byKey[key.rawRepresentation] = fresh }
                return fresh
            }
        }
    }

    /// Alex responds, Blair initiates; each with its own fixed random stream.
    static func run(_ input: [UInt8], responding: Bool) async -> Result<PairingResult, PairingError> {
        let channel = ReplayChannel(input)
        do throws(PairingError) {
            if responding {
                return .success(try await pairingAlex.respond(over: channel, now: Fixtures.now, random: Fixtures.random("pairing-responder")) { _ in true })
            } else {
                return .success(try await pairingBlair.initiate(over: channel, now: Fixtures.now, random: Fixtures.random("pairing-initiator")) { _ in true })
            }
        } catch {
            return .failure(error)
        }
    }

    /// A genuine pairing between the two fixed sides over an in-memory link, recording what
    /// each side received.
    final class Recording: @unchecked Sendable {
        static let shared = Recording()
        let toResponder: [UInt8]
        let toInitiator: [UInt8]

        private init() {
            let (a, b) = MemoryChannel.pair()
            let results = Fixtures.blocking {
                async let alex = Recording.run(responding: true, over: a)
                async let blair = Recording.run(responding: false, over: b)
                return await (alex, blair)
            }
            precondition(results.0 && results.1, "the recorded pairing failed")
            toResponder = a.received.withLock { $0 }
            toInitiator = b.received.withLock { $0 }
        }

        private static func run(responding: Bool, over channel: MemoryChannel) async -> Bool {
            do {
                if responding {
                    _ = try await pairingAlex.respond(over: channel, now: Fixtures.now, random: Fixtures.random("pairing-responder")) { _ in true }
                } else {
                    _ = try await pairingBlair.initiate(over: channel, now: Fixtures.now, random: Fixtures.random("pairing-initiator")) { _ in true }
                }
                return true
            } catch {
                return false
            }
        }
    }
}

/// The incoming stream is the fuzz input, cut into frames as a file-descriptor channel cuts
/// a socket's bytes (3-byte header, length limit before reading, truncation); what is sent
/// goes nowhere.
final class ReplayChannel: PairingChannel, @unchecked Sendable {
    private let bytes: [UInt8]
    private let limit: Int
    private var offset = 0
    private let lock = NSLock()

    init(_ bytes: [UInt8], limit: Int = PairingFrame.defaultMaximumPayloadByteCount) {
        self.bytes = bytes
        self.limit = limit
    }

    func send(_ frame: PairingFrame) async throws(PairingError) {
        guard frame.payload.count <= PairingFrame.defaultMaximumPayloadByteCount else {
            throw .oversized(limit: PairingFrame.defaultMaximumPayloadByteCount, actual: frame.payload.count)
        }
    }

    func receive(timeout: Duration?) async throws(PairingError) -> PairingFrame { try next() }

    private func next() throws(PairingError) -> PairingFrame {
        lock.lock()
        defer { lock.unlock() }
        guard offset < bytes.count else { throw .peerClosed }
            guard bytes.count - offset >= PairingFrame.headerByteCount else { throw .truncated }
            let kind = bytes[offset]
            let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            guard length <= limit else { throw .oversized(limit: limit, actual: length) }
            let start = offset + PairingFrame.headerByteCount
            guard bytes.count - start >= length else { throw .truncated }
            offset = start + length
            return PairingFrame(kindByte: kind, payload: Array(bytes[start..<start + length]))
    }
}

/// Two in-memory channels joined back to back; each keeps the bytes it received.
final class MemoryChannel: PairingChannel, @unchecked Sendable {
    private let inbox = AsyncStream<PairingFrame>.makeStream()
    private var iterator: AsyncStream<PairingFrame>.Iterator
    weak var peer: MemoryChannel?
    let received = Locked<[UInt8]>([])

    private init() { iterator = inbox.stream.makeAsyncIterator() }

    static func pair() -> (MemoryChannel, MemoryChannel) {
        let a = MemoryChannel()
        let b = MemoryChannel()
        a.peer = b
        b.peer = a
        return (a, b)
    }

    func send(_ frame: PairingFrame) async throws(PairingError) {
        guard let peer else { throw .peerClosed }
        peer.inbox.continuation.yield(frame)
    }

    func receive(timeout: Duration?) async throws(PairingError) -> PairingFrame {
        guard let frame = await iterator.next() else { throw .peerClosed }
        received.withLock { $0 += frame.encoded() }
        return frame
    }
}

final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
