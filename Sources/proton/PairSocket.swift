import Dispatch
import Foundation
import ProtonBluetooth

#if canImport(Glibc)
    import Glibc
#endif

/// `proton pair --unix-socket PATH` (hidden): the same pairing over a local stream socket
/// instead of RFCOMM, so that two `proton` processes can pair on a machine without Bluetooth
/// (the CLI tests). One side listens on the path, the other connects to it.
enum PairSocket {
    static func listen(at path: String, timeout: Int) async throws -> PairingConnection {
        let listener = try socketFor(path)
        defer { _ = Glibc.close(listener) }
        unlink(path)
        try withAddress(path) { address, length in
            guard bind(listener, address, length) == 0, Glibc.listen(listener, 1) == 0 else { throw failure("listen on", path) }
        }
        defer { unlink(path) }
        let accepted: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue(label: "proton.pair-socket.accept").async {
                var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, Int32(timeout) * 1000) == 1 else { return continuation.resume(returning: -1) }
                continuation.resume(returning: accept(listener, nil, nil))
            }
        }
        guard accepted >= 0 else {
            throw CommandFailure(status: .unavailable, message: "No one connected to \(path) within \(timeout) s.")
        }
        return PairingConnection(fileDescriptor: accepted, peerDescription: path)
    }

    static func connect(to path: String) throws -> PairingConnection {
        let descriptor = try socketFor(path)
        do {
            try withAddress(path) { address, length in
                guard Glibc.connect(descriptor, address, length) == 0 else { throw failure("connect to", path) }
            }
        } catch {
            _ = Glibc.close(descriptor)
            throw error
        }
        return PairingConnection(fileDescriptor: descriptor, peerDescription: path)
    }

    private static func socketFor(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw failure("open a socket for", path) }
        return descriptor
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Void) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw CommandFailure(status: .usage, message: "The socket path \(path) is longer than \(capacity - 1) bytes.")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    private static func failure(_ action: String, _ path: String) -> CommandFailure {
        CommandFailure(status: .unavailable, message: "Could not \(action) \(path): \(String(cString: strerror(errno))).")
    }
}
