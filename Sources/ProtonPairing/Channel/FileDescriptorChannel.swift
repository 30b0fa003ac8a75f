import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `PairingChannel` over a connected stream socket (a socket pair, an RFCOMM socket) or any
/// other stream file descriptor.
///
/// Blocking `poll`/`read`/`write` run on two serial dispatch queues of this channel's own, one
/// per direction, so a silent peer never blocks Swift's cooperative thread pool (two threads on
/// a two-core machine) and a relay may read and write the same descriptor at once. Every wait
/// is bounded by `poll` against a deadline for the whole frame, so a peer that trickles one byte
/// at a time cannot hold the pairing open forever.
///
/// The channel does not own the descriptor: whoever opened it closes it, after the pairing.
/// A blocked read does not notice task cancellation; to stop a pairing early, `shutdown` the
/// socket, which wakes the `poll` at once (closing it alone would not).
public final class FileDescriptorChannel: PairingChannel {
    public let fileDescriptor: Int32
    public let timeout: Duration
    public let maximumPayloadByteCount: Int
    private let readQueue = DispatchQueue(label: "ProtonPairing.FileDescriptorChannel.read")
    private let writeQueue = DispatchQueue(label: "ProtonPairing.FileDescriptorChannel.write")

    public init(
        fileDescriptor: Int32, timeout: Duration = .seconds(30),
        maximumPayloadByteCount: Int = PairingFrame.defaultMaximumPayloadByteCount
    ) {
        precondition(maximumPayloadByteCount <= Int(UInt16.max), "a frame's length field has two bytes")
        self.fileDescriptor = fileDescriptor
        self.timeout = timeout
        self.maximumPayloadByteCount = maximumPayloadByteCount
    }

    public func send(_ frame: PairingFrame) async throws(PairingError) {
        guard frame.payload.count <= maximumPayloadByteCount else {
            throw .oversized(limit: maximumPayloadByteCount, actual: frame.payload.count)
        }
        let bytes = frame.encoded()
        let deadline = ContinuousClock.now + timeout
        let fd = fileDescriptor
        try await Self.run(on: writeQueue) { () throws(PairingError) in
            try Self.writeAll(bytes, to: fd, deadline: deadline)
        }
    }

    public func receive(timeout: Duration?) async throws(PairingError) -> PairingFrame {
        let deadline = ContinuousClock.now + (timeout ?? self.timeout)
        let fd = fileDescriptor
        let limit = maximumPayloadByteCount
        return try await Self.run(on: readQueue) { () throws(PairingError) -> PairingFrame in
            guard let header = try Self.readExactly(PairingFrame.headerByteCount, from: fd, deadline: deadline, atFrameStart: true)
            else { throw .peerClosed }
            let length = PairingFrame.declaredLength(header: header)
            guard length <= limit else { throw .oversized(limit: limit, actual: length) }
            let payload = try Self.readExactly(length, from: fd, deadline: deadline, atFrameStart: false) ?? []
            return PairingFrame(kindByte: header[0], payload: payload)
        }
    }

    /// Runs blocking I/O on `queue` and resumes the caller with its outcome.
    private static func run<T: Sendable>(
        on queue: DispatchQueue, _ body: @escaping @Sendable () throws(PairingError) -> T
    ) async throws(PairingError) -> T {
        let result: Result<T, PairingError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(PairingError) -> T in try body() }) }
        }
        return try result.get()
    }

    /// Reads exactly `count` bytes. Returns nil if the stream ended cleanly before the first
    /// byte of a frame (`atFrameStart`), and throws `truncated` if it ended anywhere else.
    private static func readExactly(
        _ count: Int, from fd: Int32, deadline: ContinuousClock.Instant, atFrameStart: Bool
    ) throws(PairingError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            try wait(for: fd, events: Int16(POLLIN), deadline: deadline)
            let got = buffer.withUnsafeMutableBytes { raw in
                systemRead(fd, raw.baseAddress! + filled, count - filled)
            }
            if got > 0 {
                filled += got
            } else if got == 0 {
                if filled == 0 && atFrameStart { return nil }
                throw .truncated
            } else {
                switch errno {
                case EINTR, EAGAIN: continue
                case ECONNRESET, EPIPE, ENOTCONN: throw filled == 0 && atFrameStart ? .peerClosed : .truncated
                case let code: throw .io(errno: code)
                }
            }
        }
        return buffer
    }

    /// Writes every byte; `MSG_NOSIGNAL` turns a vanished peer into EPIPE instead of a SIGPIPE
    /// that would kill the process.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32, deadline: ContinuousClock.Instant) throws(PairingError) {
        var written = 0
        while written < bytes.count {
            try wait(for: fd, events: Int16(POLLOUT), deadline: deadline)
            var sent = bytes.withUnsafeBytes { raw in
                systemSend(fd, raw.baseAddress! + written, bytes.count - written)
            }
            if sent < 0 && errno == ENOTSOCK {
                sent = bytes.withUnsafeBytes { raw in systemWrite(fd, raw.baseAddress! + written, bytes.count - written) }
            }
            if sent >= 0 {
                written += sent
            } else {
                switch errno {
                case EINTR, EAGAIN: continue
                case EPIPE, ECONNRESET, ENOTCONN: throw .peerClosed
                case let code: throw .io(errno: code)
                }
            }
        }
    }

    /// Waits until `fd` is ready for `events`, or throws `timeout` at the deadline.
    private static func wait(for fd: Int32, events: Int16, deadline: ContinuousClock.Instant) throws(PairingError) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timeout }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 {
                // Readable includes hang-up and error: the read or write that follows reports which.
                return
            }
            if ready < 0 && errno != EINTR { throw .io(errno: errno) }
        }
    }
}

// The system calls under names the channel's own `send`/`receive` members cannot shadow.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

private func systemSend(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    send(fd, buffer, count, Int32(MSG_NOSIGNAL))
    #else
    send(fd, buffer, count, 0)
    #endif
}
