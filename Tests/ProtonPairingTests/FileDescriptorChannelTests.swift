import Foundation
import Testing

@testable import ProtonPairing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct FileDescriptorChannelTests {
    @Test func channelRefusesToSendAnOversizedFrame() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        let channel = FileDescriptorChannel(fileDescriptor: sockets.first, maximumPayloadByteCount: 100)
        await #expect(throws: PairingError.oversized(limit: 100, actual: 101)) {
            try await channel.send(PairingFrame(.abort, payload: [UInt8](repeating: 0, count: 101)))
        }
    }

    @Test func frameRoundTripsThroughTheChannel() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        let frame = PairingFrame(.confirmation, payload: [1, 2, 3])
        #expect(frame.encoded() == [0x12, 0x00, 0x03, 1, 2, 3])
        try await FileDescriptorChannel(fileDescriptor: sockets.first).send(frame)
        #expect(try await FileDescriptorChannel(fileDescriptor: sockets.second).receive() == frame)
    }

    /// The deadline covers the whole frame: a peer sending a byte now and then cannot keep a
    /// read alive past the timeout.
    @Test func tricklingPeerTimesOutWithinTheFrameDeadline() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        let trickle = Task {
            for byte: UInt8 in [0x12, 0x00, 0x10, 1, 2, 3, 4, 5] {
                var value = byte
                _ = send(sockets.second, &value, 1, Int32(MSG_NOSIGNAL))
                try await Task.sleep(for: .milliseconds(150))
            }
        }
        let channel = FileDescriptorChannel(fileDescriptor: sockets.first, timeout: .milliseconds(500))
        // Each byte arrives well within 500 ms of the last, so only a deadline for the whole
        // frame (the frame takes over a second) makes this time out. No wall-clock assertion:
        // on a loaded machine that would test the machine, not the channel.
        await #expect(throws: PairingError.timeout) { try await channel.receive() }
        _ = await trickle.result
    }

    @Test func cleanCloseBetweenFramesIsPeerClosed() async throws {
        let sockets = SocketPair()
        defer { sockets.close() }
        _ = shutdown(sockets.second, Int32(SHUT_WR))
        await #expect(throws: PairingError.peerClosed) {
            try await FileDescriptorChannel(fileDescriptor: sockets.first).receive()
        }
    }
}
