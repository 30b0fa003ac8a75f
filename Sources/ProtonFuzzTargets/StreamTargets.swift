import Foundation
import ProtonCore
import ProtonCrypto
import ProtonPairing
import ProtonStore

#if canImport(Glibc)
import Glibc
#endif

/// Parsers that read what arrives on a stream or sits in a profile's tables, beyond the wire
/// formats: the real RFCOMM frame reader, and the outbox's stored route lists.
enum StreamTargets {
    static let all: [FuzzTarget] = [pairingStream, routeList]

    /// The frame limits the stream target picks from with its first byte: the pairing's own,
    /// none at all, and small ones that make the oversized branch common.
    static let limits = [PairingFrame.defaultMaximumPayloadByteCount, 0, 1, 64, 300]

    /// `FileDescriptorChannel`, the reader of every RFCOMM pairing, on a real socket pair whose
    /// other end writes the input and closes. The frames it returns, re-encoded, must be the
    /// input's prefix, and it must end where the input ends: at a frame boundary as
    /// `peerClosed`, in a frame as `truncated`, or at a header over the limit as `oversized`;
    /// never by waiting (`timeout`) or with an I/O error. The in-memory `ReplayChannel` the
    /// pairing targets use must cut the same frames and stop the same way.
    static let pairingStream = FuzzTarget(
        "pairing-stream", "The RFCOMM frame reader on a socket pair: frames, their limit, and where the stream ends",
        seeds: {
            let frames = PairingTargets.Recording.shared.toResponder
            return [[0] + frames, [3] + Array(frames.prefix(200)), [4] + frames + [7, 0]]
        }
    ) { input throws(FuzzViolation) in
        let name = "pairing-stream"
        guard let first = input.first else { return false }
        let limit = limits[Int(first) % limits.count]
        let stream = Array(input.dropFirst())
        var descriptors: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &descriptors) == 0 else { return false }
        defer {
            close(descriptors[0])
            close(descriptors[1])
        }
        // The input (at most libFuzzer's few kilobytes) fits the socket's buffer: written at
        // once, then the writing side is shut, as a peer that hangs up.
        var written = 0
        while written < stream.count {
            let count = stream.withUnsafeBytes { write(descriptors[1], $0.baseAddress! + written, stream.count - written) }
            guard count > 0 else { return false }
            written += count
        }
        shutdown(descriptors[1], Int32(SHUT_WR))
        let channel = FileDescriptorChannel(fileDescriptor: descriptors[0], timeout: .seconds(10), maximumPayloadByteCount: limit)
        let replay = ReplayChannel(stream, limit: limit)
        let ((frames, ending), (replayed, replayEnding)) = Fixtures.blocking { (await readAll(channel), await readAll(replay)) }
        let consumed = frames.flatMap { $0.encoded() }
        try require(Array(stream.prefix(consumed.count)) == consumed, name, "the frames read are not the stream's bytes")
        try require(frames.allSatisfy { $0.payload.count <= limit }, name, "a frame over the limit was returned")
        try require(replayed == frames, name, "the replay channel cut the stream otherwise")
        // A pairing reads a dozen frames; past `maximumFrames` the rest of the stream is not read.
        guard let ending else { return true }
        let rest = stream.dropFirst(consumed.count)
        let expected: PairingError
        if rest.isEmpty {
            expected = .peerClosed
        } else if rest.count < PairingFrame.headerByteCount {
            expected = .truncated
        } else {
            let length = Int(rest[rest.startIndex + 1]) << 8 | Int(rest[rest.startIndex + 2])
            expected = length > limit ? .oversized(limit: limit, actual: length) : .truncated
        }
        try require(ending == expected, name, "the stream ended with \(ending), not \(expected)")
        try require(replayEnding == ending, name, "the replay channel stopped otherwise")
        return !frames.isEmpty
    }

    /// The most frames read from one input: a pairing exchanges about a dozen, and each read is
    /// a hop to the channel's queue.
    static let maximumFrames = 48

    /// The frames read, and how the stream ended (nil: `maximumFrames` were read first).
    private static func readAll(_ channel: some PairingChannel) async -> ([PairingFrame], PairingError?) {
        var frames: [PairingFrame] = []
        while frames.count < maximumFrames {
            do throws(PairingError) {
                frames.append(try await channel.receive(timeout: nil))
            } catch {
                return (frames, error)
            }
        }
        return (frames, nil)
    }

    /// The outbox's route lists (JSON, in the profile): what decodes encodes to a list that
    /// decodes to the same routes, and a refusal is the store's `corrupt`.
    static let routeList = FuzzTarget(
        "route-list", "The outbox's stored route lists: JSON with hex keys and addresses",
        seeds: { [RouteList.encode([Fixtures.route("a"), Fixtures.route("b")]), RouteList.encode([])] }
    ) { input throws(FuzzViolation) in
        let routes: [Route]
        do throws(StoreError) {
            routes = try RouteList.decode(input)
        } catch {
            return false
        }
        let again = try? RouteList.decode(RouteList.encode(routes))
        try require(again == routes, "route-list", "a decoded route list does not survive encoding")
        return true
    }
}
