import CSodium
import Testing

@testable import ProtonCrypto

struct PaddingTests {
    @Test(arguments: [0, 1, 100, 255])
    func padsToTheBlockAndUnpadsBack(length: Int) throws {
        let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let padded = Padding.pad(data, toBlockSize: 256)
        #expect(padded.count == 256)
        #expect(padded[length] == 0x80)
        #expect(padded[(length + 1)...].allSatisfy { $0 == 0 })
        #expect(try Padding.unpad(padded, blockSize: 256) == data)
    }

    @Test func unpadsDataEndingInZerosAndMarkerBytes() throws {
        let data: [UInt8] = [0x80, 0x00, 0x80, 0x00, 0x00]
        #expect(try Padding.unpad(Padding.pad(data, toBlockSize: 16), blockSize: 16) == data)
    }

    @Test func matchesLibsodiumPadding() throws {
        let data: [UInt8] = [1, 2, 3]
        var buffer = data + [UInt8](repeating: 0xff, count: 13)
        var length = 0
        _ = buffer.withUnsafeMutableBufferPointer { sodium_pad(&length, $0.baseAddress!, data.count, 16, 16) }
        #expect(length == 16)
        #expect(Padding.pad(data, toBlockSize: 16) == buffer)
    }

    @Test(arguments: [
        [UInt8](repeating: 0, count: 16),  // no marker
        [UInt8](repeating: 0x01, count: 16),  // last non-zero byte is not the marker
        [UInt8](repeating: 0, count: 15) + [0x81],
        [UInt8](repeating: 0, count: 15),  // not a whole block
        [UInt8](),
    ])
    func refusesBadPadding(padded: [UInt8]) {
        #expect(throws: Padding.Error.invalidPadding) { try Padding.unpad(padded, blockSize: 16) }
    }
}
