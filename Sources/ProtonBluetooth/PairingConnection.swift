import Foundation
import ProtonPairing

#if canImport(Glibc)
import Glibc
#endif

/// A connected stream to the other device, RFCOMM between laptops (or a socket pair in tests),
/// which the pairing runs over. Owns its descriptor: `close()` ends it, once, after every reader
/// has finished; `shutDown()` wakes a reader blocked on it without freeing the number.
public final class PairingConnection: @unchecked Sendable {
    public let fileDescriptor: Int32
    /// Who is at the other end, as the person should see it ("AA:BB:… channel 27").
    public let peerDescription: String
    /// The peer's Bluetooth address, when the connection is RFCOMM.
    public let peerAddress: BluetoothAddress?
    private let lock = NSLock()
    private var closed = false

    /// Takes ownership of a connected stream descriptor.
    public init(fileDescriptor: Int32, peerDescription: String, peerAddress: BluetoothAddress? = nil) {
        self.fileDescriptor = fileDescriptor
        self.peerDescription = peerDescription
        self.peerAddress = peerAddress
    }

    /// The framed pairing channel over this connection; `timeout` bounds each frame.
    public func pairingChannel(timeout: Duration = .seconds(30)) -> FileDescriptorChannel {
        FileDescriptorChannel(fileDescriptor: fileDescriptor, timeout: timeout)
    }

    public func shutDown() {
        lock.withLock { if !closed { _ = shutdown(fileDescriptor, Int32(SHUT_RDWR)) } }
    }

    public func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            _ = shutdown(fileDescriptor, Int32(SHUT_RDWR))
            _ = Glibc.close(fileDescriptor)
        }
    }

    deinit { close() }
}
