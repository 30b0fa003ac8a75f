import Testing

@testable import ProtonBluetooth

#if canImport(Glibc)
import Glibc
#endif

@Suite("Bluetooth errors")
struct BluetoothErrorTests {
    static let address = try! BluetoothAddress("00:1A:7D:DA:71:13")
    static let every: [BluetoothError] = [
        .unsupported, .noAdapter, .adapterDown("hci0"), .unknownAdapter("hci7"), .invalidAddress("zz"),
        .invalidChannel(31), .channelInUse(27), .timeout(operation: "waiting for the other device to connect", seconds: 120),
        .connectionRefused(address: address, channel: 27), .hostDown(address), .serviceNotFound(address),
        .sdpUnavailable(errno: ECONNREFUSED), .permissionDenied(operation: "running the inquiry"),
        .system(operation: "binding", errno: EINVAL),
    ]

    @Test func everyErrorIsOneSentence() {
        for error in Self.every {
            let text = error.description
            #expect(!text.contains("\n"), "\(text)")
            #expect(text.first?.isUppercase == true || text.first == "\"" || text.first?.isNumber == true, "\(text)")
            #expect(text.hasSuffix("."), "\(text)")
        }
    }

    @Test func noBluetoothAndNoAdapterReadDifferently() {
        #expect(BluetoothError.unsupported.description.contains("no Bluetooth support"))
        #expect(BluetoothError.noAdapter.description.contains("No Bluetooth adapter"))
        #expect(BluetoothError.unsupported.isUnavailable && BluetoothError.noAdapter.isUnavailable)
        #expect(!BluetoothError.invalidAddress("x").isUnavailable)
    }

    @Test func socketErrnosMapToTheirMeaning() {
        #expect(BluetoothError.from(errno: EAFNOSUPPORT, operation: "x") == .unsupported)
        #expect(BluetoothError.from(errno: EPERM, operation: "x") == .permissionDenied(operation: "x"))
        #expect(BluetoothError.from(errno: ENODEV, operation: "x") == .noAdapter)
        #expect(RFCOMM.connectError(ECONNREFUSED, Self.address, 3) == .connectionRefused(address: Self.address, channel: 3))
        #expect(RFCOMM.connectError(EHOSTDOWN, Self.address, 3) == .hostDown(Self.address))
    }

    /// This machine's kernel has no Bluetooth (EAFNOSUPPORT): finding an adapter says so, before
    /// and instead of asking for an adapter.
    @Test(.enabled(if: kernelHasNoBluetooth, "this kernel supports Bluetooth; the no-Bluetooth path cannot be observed here"))
    func findingAnAdapterWithoutKernelSupportSaysSo() throws {
        #expect(throws: BluetoothError.unsupported) { try BluetoothAdapter.checkKernelSupport() }
        #expect(throws: BluetoothError.unsupported) { try BluetoothAdapter.find() }
        #expect(throws: BluetoothError.unsupported) { try BluetoothAdapter.find("hci0") }
    }
}

/// True where `socket(AF_BLUETOOTH, …)` fails with EAFNOSUPPORT, as on the build machines.
let kernelHasNoBluetooth: Bool = {
    let fd = socket(AF_BLUETOOTH, Int32(SOCK_STREAM.rawValue), 3)
    let code = errno
    if fd >= 0 { close(fd) }
    return fd < 0 && code == EAFNOSUPPORT
}()
