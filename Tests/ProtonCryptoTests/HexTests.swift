import Testing

/// The helper itself, so a vector never fails because of the codec.
struct HexTests {
    @Test func decodesAndEncodesRoundTrip() {
        let bytes: [UInt8] = [0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff]
        #expect(Hex.string(bytes) == "00010f107f80feff")
        #expect(Hex.bytes("00010f107f80feff") == bytes)
    }

    @Test func ignoresWhitespaceAndCase() {
        #expect(Hex.bytes("0A 0b\n\t0C") == [0x0a, 0x0b, 0x0c])
        #expect(Hex.normalized("AB cd\nEF") == "abcdef")
    }

    @Test func emptyStringIsNoBytes() {
        #expect(Hex.bytes("").isEmpty)
        #expect(Hex.string([UInt8]()) == "")
    }

    @Test func flippingBitChangesExactlyThatBit() {
        let zero = [UInt8](repeating: 0, count: 4)
        #expect(zero.flippingBit(0) == [0x01, 0, 0, 0])
        #expect(zero.flippingBit(15) == [0, 0x80, 0, 0])
        #expect(zero.flippingBit(31).flippingBit(31) == zero)
    }
}
