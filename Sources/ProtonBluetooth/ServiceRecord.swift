import CBlueZ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Proton pairing's SDP service: our own 128-bit service class UUID, published with the RFCOMM
/// channel a listener uses, and looked up on a remote device to find that channel.
public enum ProtonService {
    /// 684f2618-983e-4530-a5ff-726e46810310, a random (version 4) UUID of our own: no Bluetooth
    /// SIG profile is claimed, and a scan finds exactly the devices that run `proton pair --listen`.
    public static let uuid = UUID(uuidString: "684f2618-983e-4530-a5ff-726e46810310")!
    public static let name = "Proton pairing"

    static var uuidBytes: [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    /// Publishes the service on `channel` with the local SDP server. Needs bluetoothd's legacy
    /// /run/sdp socket (`bluetoothd --compat`); throws `sdpUnavailable` otherwise, and the caller
    /// falls back to a channel both sides know.
    public static func register(channel: UInt8) throws(BluetoothError) -> ServiceRecord {
        let session = uuidBytes.withUnsafeBufferPointer { bytes in
            proton_sdp_register_rfcomm(bytes.baseAddress, channel, name, "Proton", "Offline pairing for Proton relationships")
        }
        guard let session else {
            let code = errno
            throw code == EACCES || code == EPERM
                ? .permissionDenied(operation: "registering the SDP record") : .sdpUnavailable(errno: code)
        }
        return ServiceRecord(session: session, channel: channel)
    }

    /// Asks `address`'s SDP server for our service and returns its RFCOMM channel, or throws
    /// `serviceNotFound`, `hostDown` or `timeout`.
    public static func findChannel(
        on address: BluetoothAddress, from adapter: BluetoothAdapter, timeout: Duration
    ) async throws(BluetoothError) -> UInt8 {
        let seconds = Int(timeout.components.seconds)
        let local = adapter.address.bdaddr
        let remote = address.bdaddr
        let bytes = uuidBytes
        // sdp_connect has no deadline of its own; the search runs on a thread of its own and is
        // abandoned (it ends by itself with the kernel's page timeout) when ours passes first.
        return try await withDeadline(timeout, operation: "asking \(address) for the Proton service", seconds: seconds) {
            () throws(BluetoothError) -> UInt8 in
            let channel = bytes.withUnsafeBufferPointer { proton_sdp_find_rfcomm_channel(local, remote, $0.baseAddress) }
            if channel < 0 {
                let code = errno
                switch code {
                // Refused: the device answers but runs no SDP server (BlueZ without bluetoothd),
                // so it has no record of ours either.
                case ECONNREFUSED: throw .serviceNotFound(address)
                case EHOSTDOWN, EHOSTUNREACH, ECONNRESET: throw .hostDown(address)
                case ETIMEDOUT: throw .timeout(operation: "asking \(address) for the Proton service", seconds: seconds)
                default: throw .from(errno: code, operation: "asking \(address) for the Proton service")
                }
            }
            guard channel > 0 else { throw .serviceNotFound(address) }
            return UInt8(channel)
        }
    }
}

/// A published SDP record; the record disappears when this closes (or the process exits, since
/// the SDP server drops a closed session's records).
public final class ServiceRecord: @unchecked Sendable {
    public let channel: UInt8
    private var session: UnsafeMutablePointer<sdp_session_t>?
    private let lock = NSLock()

    init(session: UnsafeMutablePointer<sdp_session_t>, channel: UInt8) {
        self.session = session
        self.channel = channel
    }

    public func close() {
        lock.withLock {
            if let session { sdp_close(session) }
            session = nil
        }
    }

    deinit { close() }
}

/// Runs `body` on a thread of its own; returns its result, or throws `timeout` if it is not done
/// by then (the thread then finishes unobserved).
func withDeadline<T: Sendable>(
    _ timeout: Duration, operation: String, seconds: Int, _ body: @escaping @Sendable () throws(BluetoothError) -> T
) async throws(BluetoothError) -> T {
    let box = OnceBox<Result<T, BluetoothError>>()
    let result: Result<T, BluetoothError> = await withCheckedContinuation { continuation in
        box.continuation = continuation
        DispatchQueue(label: "ProtonBluetooth.deadline").async {
            box.resume(Result { () throws(BluetoothError) -> T in try body() })
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))) {
            box.resume(.failure(.timeout(operation: operation, seconds: seconds)))
        }
    }
    return try result.get()
}

/// Resumes a continuation once, whichever of two racers gets there first.
final class OnceBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    var continuation: CheckedContinuation<T, Never>?

    func resume(_ value: T) {
        let waiting: CheckedContinuation<T, Never>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(returning: value)
    }
}
