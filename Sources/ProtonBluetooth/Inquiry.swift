import CBlueZ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A device an inquiry found.
public struct DiscoveredDevice: Sendable, Equatable {
    public let address: BluetoothAddress
    /// Its class of device (major/minor class and service bits).
    public let deviceClass: UInt32
    /// The name it reports, when asked (nil when it did not answer in time).
    public var name: String?
    /// The RFCOMM channel of its Proton service, when it offers one.
    public var protonChannel: UInt8?

    public init(address: BluetoothAddress, deviceClass: UInt32, name: String? = nil, protonChannel: UInt8? = nil) {
        self.address = address
        self.deviceClass = deviceClass
        self.name = name
        self.protonChannel = protonChannel
    }
}

/// What a scan reports while it runs, for a progress display.
public enum ScanProgress: Sendable, Equatable {
    /// The inquiry is running: elapsed and total seconds.
    case inquiring(elapsed: Double, total: Double)
    /// The inquiry ended with this many devices in range.
    case inquiryFinished(found: Int)
    /// Asking one device for its name and for the Proton service (index counts from 1).
    case checking(BluetoothAddress, index: Int, of: Int)
}

/// Classic (BR/EDR) discovery: an HCI inquiry, then each device's name and Proton service.
public enum Inquiry {
    /// Inquiry time is counted in units of 1.28 s; 8 units (~10 s) is what the specification
    /// suggests for finding every discoverable device nearby.
    public static let defaultSeconds = 10.24

    /// Runs an inquiry on `adapter` for about `seconds`, then asks every device found for its
    /// name and for our SDP record. Devices without the Proton service are returned too (with
    /// `protonChannel` nil) so the caller can say what it saw. Inquiry needs no privilege on
    /// Linux; remote name requests may need CAP_NET_RAW on hardened kernels.
    public static func scan(
        adapter: BluetoothAdapter, seconds: Double = defaultSeconds, perDeviceTimeout: Duration = .seconds(10),
        progress: @escaping @Sendable (ScanProgress) -> Void
    ) async throws(BluetoothError) -> [DiscoveredDevice] {
        let units = max(1, min(48, Int((seconds / 1.28).rounded(.up))))
        let total = Double(units) * 1.28
        let started = ContinuousClock.now
        let ticker = Task {
            while !Task.isCancelled {
                let elapsed = started.duration(to: .now)
                progress(.inquiring(elapsed: min(total, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18), total: total))
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { ticker.cancel() }
        let found = try await BlockingCall.run(label: "inquiry") { () throws(BluetoothError) -> [DiscoveredDevice] in
            try run(deviceID: adapter.deviceID, units: units)
        }
        ticker.cancel()
        _ = await ticker.result
        progress(.inquiryFinished(found: found.count))

        var devices: [DiscoveredDevice] = []
        for (index, var device) in found.enumerated() {
            progress(.checking(device.address, index: index + 1, of: found.count))
            device.name = await remoteName(of: device.address, adapter: adapter, timeout: perDeviceTimeout)
            device.protonChannel = try? await ProtonService.findChannel(on: device.address, from: adapter, timeout: perDeviceTimeout)
            devices.append(device)
        }
        return devices
    }

    /// The blocking inquiry itself (HCIINQUIRY ioctl, cache flushed so only devices in range now
    /// are reported).
    static func run(deviceID: Int32, units: Int) throws(BluetoothError) -> [DiscoveredDevice] {
        var results: UnsafeMutablePointer<inquiry_info>? = nil
        let count = hci_inquiry(Int32(deviceID), Int32(units), 255, nil, &results, Int(IREQ_CACHE_FLUSH))
        defer { if let results { bt_free(results) } }
        guard count >= 0 else { throw .from(errno: errno, operation: "running the inquiry") }
        guard let results else { return [] }
        var seen = Set<BluetoothAddress>()
        var devices: [DiscoveredDevice] = []
        for index in 0..<Int(count) {
            let address = BluetoothAddress(bdaddr: proton_inquiry_address(results, Int32(index)))
            guard seen.insert(address).inserted else { continue }
            devices.append(DiscoveredDevice(address: address, deviceClass: proton_inquiry_class(results, Int32(index))))
        }
        return devices
    }

    /// The name a device reports (Remote Name Request), or nil when it does not answer in time.
    public static func remoteName(of address: BluetoothAddress, adapter: BluetoothAdapter, timeout: Duration) async -> String? {
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000)
        let deviceID = adapter.deviceID
        return try? await BlockingCall.run(label: "remote-name") { () throws(BluetoothError) -> String? in
            let dd = hci_open_dev(deviceID)
            guard dd >= 0 else { return nil }
            defer { hci_close_dev(dd) }
            var target = address.bdaddr
            var buffer = [CChar](repeating: 0, count: 249)
            guard hci_read_remote_name(dd, &target, 248, &buffer, milliseconds) == 0 else { return nil }
            let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return name.isEmpty ? nil : name
        }
    }
}
