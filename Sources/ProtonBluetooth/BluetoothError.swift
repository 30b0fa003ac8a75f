#if canImport(Glibc)
import Glibc
#endif

/// Why a Bluetooth operation failed. Each case reads as one sentence for the person at the
/// keyboard (`description`), and `isUnavailable` tells the CLI which ones mean "no device here".
public enum BluetoothError: Error, Equatable, Sendable {
    /// `socket(AF_BLUETOOTH, …)` failed with EAFNOSUPPORT: this kernel was built without Bluetooth
    /// (or the module is not loaded and cannot be).
    case unsupported
    /// The kernel has Bluetooth, but no adapter is present.
    case noAdapter
    /// An adapter is present but not powered or blocked by rfkill.
    case adapterDown(String)
    /// The adapter named with --adapter does not exist.
    case unknownAdapter(String)
    /// Not six colon-separated hexadecimal bytes.
    case invalidAddress(String)
    /// RFCOMM channels are 1 to 30.
    case invalidChannel(Int)
    /// Another program is already listening on this RFCOMM channel.
    case channelInUse(UInt8)
    /// Nothing connected within the time allowed (listening), or the peer did not answer (connecting).
    case timeout(operation: String, seconds: Int)
    /// The device answered, but nothing listens on that channel.
    case connectionRefused(address: BluetoothAddress, channel: UInt8)
    /// The device did not answer a page: out of range, off, not connectable.
    case hostDown(BluetoothAddress)
    /// The device has no SDP record for our service.
    case serviceNotFound(BluetoothAddress)
    /// The local SDP server is not reachable (bluetoothd not running with `-C`), with errno.
    case sdpUnavailable(errno: Int32)
    /// The operating system refused for lack of privilege (CAP_NET_RAW, CAP_NET_ADMIN).
    case permissionDenied(operation: String)
    /// Anything else the kernel said no to.
    case system(operation: String, errno: Int32)

    /// True when the device, the kernel support or the peer is not available (sysexits 69).
    public var isUnavailable: Bool {
        switch self {
        case .invalidAddress, .invalidChannel, .permissionDenied: false
        default: true
        }
    }

    /// Maps an errno from a socket call on `operation`.
    static func from(errno code: Int32, operation: String) -> BluetoothError {
        switch code {
        case EAFNOSUPPORT, EPROTONOSUPPORT: .unsupported
        case EPERM, EACCES: .permissionDenied(operation: operation)
        case ENODEV: .noAdapter
        default: .system(operation: operation, errno: code)
        }
    }
}

extension BluetoothError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unsupported:
            "This system has no Bluetooth support: the kernel refuses Bluetooth sockets (EAFNOSUPPORT), so pairing over Bluetooth is not possible here."
        case .noAdapter:
            "No Bluetooth adapter is available: the kernel supports Bluetooth, but no adapter is present or powered on."
        case .adapterDown(let name):
            "The Bluetooth adapter \(name) is off or blocked; turn it on with 'rfkill unblock bluetooth' and 'bluetoothctl power on'."
        case .unknownAdapter(let name):
            "There is no Bluetooth adapter \(name); 'hciconfig' or 'bluetoothctl list' shows the adapters."
        case .invalidAddress(let text):
            "\"\(text)\" is not a Bluetooth address; write it as six hexadecimal bytes, like 00:1A:7D:DA:71:13."
        case .invalidChannel(let channel):
            "RFCOMM channel \(channel) is out of range; channels are 1 to 30."
        case .channelInUse(let channel):
            "RFCOMM channel \(channel) is already in use by another program."
        case .timeout(let operation, let seconds):
            "Nothing happened within \(seconds) seconds while \(operation)."
        case .connectionRefused(let address, let channel):
            "\(address) refused the connection on RFCOMM channel \(channel): nothing is listening there."
        case .hostDown(let address):
            "\(address) does not answer: it is out of range, switched off, or not connectable (see Hardware/README.md, \"Host is down\")."
        case .serviceNotFound(let address):
            "\(address) does not offer Proton pairing: no SDP record for it was found."
        case .sdpUnavailable(let code):
            "The local SDP server is not reachable (\(String(cString: strerror(code)))); bluetoothd must run with --compat (-C) to publish the service."
        case .permissionDenied(let operation):
            "Permission denied while \(operation); this needs CAP_NET_RAW (run as root, or 'setcap cap_net_raw,cap_net_admin+ep' on proton)."
        case .system(let operation, let code):
            "Bluetooth failed while \(operation): \(String(cString: strerror(code))) (errno \(code))."
        }
    }
}
