import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

#if canImport(Glibc)
import Glibc
#endif

/// What goes wrong with one frame on the way.
enum Fault: String, Sendable, CaseIterable {
    /// Half the frame arrives, then the stream ends.
    case truncate
    /// A header declaring 65,535 bytes, over the 16 KiB limit.
    case oversize
    /// Junk instead of the frame: an unknown kind byte and a plausible length, then noise.
    case garbage
    /// The frame's payload with one bit flipped.
    case tamper
    /// The frame never arrives and the link stays open: both sides must time out.
    case silence
    /// The link disappears: both sockets close.
    case vanish
}

enum Direction: String, Sendable {
    case toResponder, toInitiator
}

/// A frame-aware relay between the two sides that forwards everything faithfully until the
/// chosen frame, damages that one, and then forwards nothing more in that direction (the other
/// direction keeps flowing, so an abort can still reach the other side).
final class FaultyLink: Sendable {
    let initiatorLink = SocketPair()
    let responderLink = SocketPair()
    let fault: Fault
    let direction: Direction
    let frameIndex: Int

    init(fault: Fault, direction: Direction, frameIndex: Int) {
        self.fault = fault
        self.direction = direction
        self.frameIndex = frameIndex
    }

    var initiatorEnd: Int32 { initiatorLink.first }
    var responderEnd: Int32 { responderLink.second }

    func run() async {
        async let up: Void = pump(from: initiatorLink.second, to: responderLink.first, faulty: direction == .toResponder)
        async let down: Void = pump(from: responderLink.first, to: initiatorLink.second, faulty: direction == .toInitiator)
        _ = await (up, down)
    }

    func shutDown() {
        initiatorLink.shutDown()
        responderLink.shutDown()
    }

    func close() {
        initiatorLink.close()
        responderLink.close()
    }

    private func pump(from source: Int32, to destination: Int32, faulty: Bool) async {
        let input = FileDescriptorChannel(fileDescriptor: source, timeout: .seconds(120))
        var index = 0
        while let frame = try? await input.receive() {
            defer { index += 1 }
            guard faulty && index == frameIndex else {
                Self.write(frame.encoded(), to: destination)
                continue
            }
            let encoded = frame.encoded()
            switch fault {
            case .truncate:
                Self.write(Array(encoded.prefix(max(1, encoded.count / 2))), to: destination)
                _ = shutdown(destination, Int32(SHUT_WR))
            case .oversize:
                Self.write([frame.kindByte, 0xff, 0xff] + [UInt8](repeating: 0, count: 64), to: destination)
            case .garbage:
                Self.write([0xa5, 0x00, 0x3d] + (0..<61).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 0x5a) }, to: destination)
            case .tamper:
                var damaged = encoded
                damaged[damaged.count - 1] ^= 0x01
                Self.write(damaged, to: destination)
            case .silence:
                break
            case .vanish:
                _ = shutdown(initiatorLink.second, Int32(SHUT_RDWR))
                _ = shutdown(responderLink.first, Int32(SHUT_RDWR))
            }
            return
        }
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            written += count
        }
    }
}
