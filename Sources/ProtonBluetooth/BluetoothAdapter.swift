import CBlueZ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A local Bluetooth controller: `hci0`, its address, and the name other devices see.
public struct BluetoothAdapter: Sendable, Equatable {
    /// The kernel's device id (0 for hci0).
    public let deviceID: Int32
    /// The kernel's name for it, "hci0".
    public let name: String
    public let address: BluetoothAddress
    /// The name other devices see in a scan (empty when it could not be read).
    public let localName: String

    /// Checks that the kernel speaks Bluetooth at all: a Bluetooth socket opens. The clean way to
    /// tell "no Bluetooth in this kernel" (EAFNOSUPPORT) from "no adapter".
    public static func checkKernelSupport() throws(BluetoothError) {
        let fd = proton_rfcomm_socket()
        guard fd >= 0 else { throw .from(errno: errno, operation: "opening a Bluetooth socket") }
        close(fd)
    }

    /// The adapter named `selector` ("hci1" or its address), or the first powered adapter.
    /// Throws `unsupported`, `noAdapter`, `adapterDown` or `unknownAdapter`.
    public static func find(_ selector: String? = nil) throws(BluetoothError) -> BluetoothAdapter {
        try checkKernelSupport()
        let id: Int32
        if let selector {
            id = hci_devid(selector)
            guard id >= 0 else { throw .unknownAdapter(selector) }
        } else {
            id = hci_get_route(nil)
            guard id >= 0 else {
                // hci_get_route returns only adapters that are up; tell "present but off" apart.
                if let present = presentAdapterNames().first { throw .adapterDown(present) }
                throw .noAdapter
            }
        }
        var info = hci_dev_info()
        guard hci_devinfo(id, &info) == 0 else { throw .from(errno: errno, operation: "reading adapter hci\(id)") }
        let name = withUnsafeBytes(of: info.name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard proton_hci_is_up(&info) != 0 else { throw .adapterDown(name) }
        return BluetoothAdapter(
            deviceID: id, name: name, address: BluetoothAddress(bdaddr: info.bdaddr), localName: readLocalName(id))
    }

    /// Adapters the kernel lists in sysfs, up or not.
    static func presentAdapterNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/bluetooth")) ?? []
        return names.filter { $0.hasPrefix("hci") && !$0.contains(":") }.sorted()
    }

    private static func readLocalName(_ id: Int32) -> String {
        let dd = hci_open_dev(id)
        guard dd >= 0 else { return "" }
        defer { hci_close_dev(dd) }
        var buffer = [CChar](repeating: 0, count: 249)
        guard hci_read_local_name(dd, 248, &buffer, 2000) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension BluetoothAdapter: CustomStringConvertible {
    /// `hci0 "laptop" (AA:BB:CC:DD:EE:FF)`.
    public var description: String {
        localName.isEmpty ? "\(name) (\(address))" : "\(name) \"\(localName)\" (\(address))"
    }
}
