import Testing

@testable import ProtonBluetooth

@Suite("Bluetooth addresses and channels")
struct BluetoothAddressTests {
    @Test func parsesAndPrintsAnAddress() throws {
        let address = try BluetoothAddress("00:1a:7D:da:71:13")
        #expect(address.bytes == [0x00, 0x1A, 0x7D, 0xDA, 0x71, 0x13])
        #expect(address.description == "00:1A:7D:DA:71:13")
        #expect(try BluetoothAddress(address.description) == address)
        #expect(try BluetoothAddress("00-1A-7D-DA-71-13") == address)
    }

    @Test func keepsBlueZsLittleEndianOrder() throws {
        let address = try BluetoothAddress("01:02:03:04:05:06")
        let raw = address.bdaddr.b
        #expect([raw.0, raw.1, raw.2, raw.3, raw.4, raw.5] == [6, 5, 4, 3, 2, 1])
        #expect(BluetoothAddress(bdaddr: address.bdaddr) == address)
    }

    @Test(arguments: [
        "", "zz", "00:11:22:33:44", "00:11:22:33:44:55:66", "0:11:22:33:44:55", "00:11:22:33:44:GG",
        "00:11:22:33:44:555", " 00:11:22:33:44:55", "00:11:22:33:44:55 ", "00:11:22:33:44:55\n", "00::11:22:33:44:55",
        "001122334455", "00:11-22:33:44:55", "+0:11:22:33:44:55", "００:11:22:33:44:55",
    ])
    func refusesMalformedAddresses(_ text: String) {
        #expect(throws: BluetoothError.invalidAddress(text)) { try BluetoothAddress(text) }
    }

    @Test func refusesAWrongNumberOfBytes() {
        #expect(throws: BluetoothError.self) { try BluetoothAddress(bytes: [1, 2, 3]) }
    }

    @Test(arguments: [0, 31, -1, 256])
    func refusesChannelsOutsideOneToThirty(_ channel: Int) {
        #expect(throws: BluetoothError.invalidChannel(channel)) { try RFCOMM.validChannel(channel) }
    }

    @Test func acceptsEveryRFCOMMChannel() throws {
        for channel in 1...30 { #expect(try RFCOMM.validChannel(channel) == UInt8(channel)) }
        #expect(RFCOMM.channels.contains(Int(RFCOMM.defaultChannel)))
    }

    @Test func serviceUUIDIsOurOwnVersion4UUID() {
        let bytes = ProtonService.uuidBytes
        #expect(bytes.count == 16)
        #expect(bytes[6] >> 4 == 4, "a random (version 4) UUID")
        #expect(bytes[8] >> 6 == 0b10, "RFC 4122 variant")
        // Not derived from the Bluetooth base UUID (xxxxxxxx-0000-1000-8000-00805f9b34fb).
        #expect(Array(bytes[4...]) != [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0x80, 0x5F, 0x9B, 0x34, 0xFB])
    }
}
