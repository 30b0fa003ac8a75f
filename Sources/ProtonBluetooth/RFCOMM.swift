import CBlueZ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// RFCOMM stream sockets: a listener that accepts one pairing at a time, and an outgoing
/// connect bounded by a deadline.
///
/// Link-level security is left at BlueZ's default (low: no BR/EDR pairing): the pairing protocol
/// authenticates and encrypts end to end and the people compare the SAS, so a bonded link would
/// add a second pairing dialog and nothing the protocol relies on.
public enum RFCOMM {
    /// Channels 1 to 30 exist. 27 when SDP cannot publish the channel: far from the low channels
    /// that serial-port, headset and OBEX profiles usually take, and documented so that the other
    /// side can name it with --channel.
    public static let defaultChannel: UInt8 = 27
    public static let channels: ClosedRange<Int> = 1...30

    public static func validChannel(_ value: Int) throws(BluetoothError) -> UInt8 {
        guard channels.contains(value) else { throw .invalidChannel(value) }
        return UInt8(value)
    }

    /// Connects from `adapter` to `address` on `channel`, or throws `timeout` after `timeout`.
    public static func connect(
        to address: BluetoothAddress, channel: UInt8, from adapter: BluetoothAdapter, timeout: Duration
    ) async throws(BluetoothError) -> PairingConnection {
        let seconds = Int(timeout.components.seconds)
        let fd = try await BlockingCall.run(label: "connect") { () throws(BluetoothError) -> Int32 in
            let fd = proton_rfcomm_socket()
            guard fd >= 0 else { throw .from(errno: errno, operation: "opening an RFCOMM socket") }
            do throws(BluetoothError) {
                guard proton_rfcomm_bind(fd, adapter.address.bdaddr, 0) == 0 else {
                    throw BluetoothError.from(errno: errno, operation: "binding to \(adapter.name)")
                }
                if proton_rfcomm_connect_start(fd, address.bdaddr, channel) != 0 {
                    guard errno == EINPROGRESS || errno == EAGAIN else { throw connectError(errno, address, channel) }
                    try waitWritable(fd, timeout: timeout, operation: "connecting to \(address)", seconds: seconds)
                    let code = proton_socket_error(fd)
                    guard code == 0 else { throw connectError(code, address, channel) }
                }
                guard proton_set_blocking(fd) == 0 else { throw BluetoothError.from(errno: errno, operation: "connecting") }
                return fd
            } catch {
                close(fd)
                throw error
            }
        }
        return PairingConnection(fileDescriptor: fd, peerDescription: "\(address) channel \(channel)", peerAddress: address)
    }

    static func connectError(_ code: Int32, _ address: BluetoothAddress, _ channel: UInt8) -> BluetoothError {
        switch code {
        case ECONNREFUSED: .connectionRefused(address: address, channel: channel)
        case EHOSTDOWN, EHOSTUNREACH, ECONNABORTED: .hostDown(address)
        case ETIMEDOUT: .timeout(operation: "connecting to \(address)", seconds: 0)
        default: .from(errno: code, operation: "connecting to \(address)")
        }
    }

    static func waitWritable(_ fd: Int32, timeout: Duration, operation: String, seconds: Int) throws(BluetoothError) {
        try waitReady(fd, events: Int16(POLLOUT), timeout: timeout, operation: operation, seconds: seconds)
    }

    static func waitReady(_ fd: Int32, events: Int16, timeout: Duration, operation: String, seconds: Int) throws(BluetoothError) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timeout(operation: operation, seconds: seconds) }
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, min(milliseconds, 500))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .from(errno: errno, operation: operation) }
        }
    }
}

/// A bound, listening RFCOMM socket on one adapter. Closing it stops listening (and, with it,
/// nothing else: the SDP record is a separate `ServiceRecord`).
public final class RFCOMMListener: @unchecked Sendable {
    public let adapter: BluetoothAdapter
    public let channel: UInt8
    private let fd: Int32
    private let lock = NSLock()
    private var closed = false

    /// Listens on `channel`, or on `RFCOMM.defaultChannel` when nil; when the default is taken
    /// and `fallBackToAnyChannel`, on whichever free channel the kernel picks (the caller then
    /// has to publish it through SDP, or the peer cannot find it).
    public init(adapter: BluetoothAdapter, channel requested: UInt8?, fallBackToAnyChannel: Bool) throws(BluetoothError) {
        let fd = proton_rfcomm_socket()
        guard fd >= 0 else { throw .from(errno: errno, operation: "opening an RFCOMM socket") }
        var wanted = requested ?? RFCOMM.defaultChannel
        if proton_rfcomm_bind(fd, adapter.address.bdaddr, wanted) != 0 {
            let code = errno
            if code == EADDRINUSE && requested == nil && fallBackToAnyChannel {
                wanted = 0
                guard proton_rfcomm_bind(fd, adapter.address.bdaddr, 0) == 0 else {
                    let again = errno
                    Glibc.close(fd)
                    throw .from(errno: again, operation: "binding an RFCOMM channel")
                }
            } else {
                Glibc.close(fd)
                throw code == EADDRINUSE ? .channelInUse(wanted) : .from(errno: code, operation: "binding RFCOMM channel \(wanted)")
            }
        }
        guard listen(fd, 1) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw code == EADDRINUSE ? .channelInUse(wanted) : .from(errno: code, operation: "listening on RFCOMM")
        }
        let bound = proton_rfcomm_local_channel(fd)
        guard bound > 0 else {
            let code = errno
            Glibc.close(fd)
            throw .from(errno: code, operation: "reading the RFCOMM channel")
        }
        self.fd = fd
        self.adapter = adapter
        self.channel = UInt8(bound)
    }

    /// Waits for one device to connect, for at most `timeout`.
    public func accept(timeout: Duration) async throws(BluetoothError) -> PairingConnection {
        let fd = self.fd
        let seconds = Int(timeout.components.seconds)
        let (connection, peer) = try await BlockingCall.run(label: "accept") { () throws(BluetoothError) -> (Int32, BluetoothAddress) in
            try RFCOMM.waitReady(fd, events: Int16(POLLIN), timeout: timeout, operation: "waiting for the other device to connect", seconds: seconds)
            var peer = bdaddr_t()
            let connection = proton_rfcomm_accept(fd, &peer)
            guard connection >= 0 else { throw .from(errno: errno, operation: "accepting a connection") }
            return (connection, BluetoothAddress(bdaddr: peer))
        }
        return PairingConnection(fileDescriptor: connection, peerDescription: "\(peer)", peerAddress: peer)
    }

    public func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            _ = shutdown(fd, Int32(SHUT_RDWR))
            _ = Glibc.close(fd)
        }
    }

    deinit { close() }
}
