import ProtonCrypto
import Testing

struct SecureBytesTests {
    @Test func holdsACopyOfItsInput() {
        let bytes = SecureBytes([1, 2, 3, 4])
        #expect(bytes.count == 4)
        #expect(bytes.unsafeExportedBytes() == [1, 2, 3, 4])
    }

    @Test func acceptsAnyByteCollection() {
        let source: [UInt8] = [9, 8, 7, 6, 5]
        #expect(SecureBytes(source[1..<4]).unsafeExportedBytes() == [8, 7, 6])
        #expect(SecureBytes("abc".utf8).unsafeExportedBytes() == [0x61, 0x62, 0x63])
    }

    @Test func consumingInitZeroesTheSource() {
        var source: [UInt8] = [0xde, 0xad, 0xbe, 0xef]
        let bytes = SecureBytes(consuming: &source)
        #expect(source == [0, 0, 0, 0])
        #expect(bytes.unsafeExportedBytes() == [0xde, 0xad, 0xbe, 0xef])
    }

    @Test func emptyValueIsValid() {
        let empty = SecureBytes([UInt8]())
        #expect(empty.count == 0)
        #expect(empty.unsafeExportedBytes().isEmpty)
    }

    @Test func isEqualForSameContents() {
        #expect(SecureBytes([1, 2, 3]).isEqual(to: SecureBytes([1, 2, 3])))
        #expect(SecureBytes([UInt8]()).isEqual(to: SecureBytes([UInt8]())))
    }

    @Test func isNotEqualWhenAnyByteDiffers() {
        let reference: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        for bit in 0..<(reference.count * 8) {
            #expect(!SecureBytes(reference).isEqual(to: SecureBytes(reference.flippingBit(bit))), "bit \(bit)")
        }
    }

    @Test func isNotEqualWhenLengthsDiffer() {
        #expect(!SecureBytes([1, 2, 3]).isEqual(to: SecureBytes([1, 2, 3, 0])))
        #expect(!SecureBytes([1, 2, 3, 0]).isEqual(to: SecureBytes([1, 2, 3])))
        #expect(!SecureBytes([0]).isEqual(to: SecureBytes([UInt8]())))
    }

    @Test func splitReturnsConsecutivePieces() {
        let bytes = SecureBytes(Array(0..<80 as Range<UInt8>))
        let pieces = bytes.split([32, 32, 16])
        #expect(pieces.map(\.count) == [32, 32, 16])
        #expect(pieces[0].unsafeExportedBytes() == Array(0..<32))
        #expect(pieces[1].unsafeExportedBytes() == Array(32..<64))
        #expect(pieces[2].unsafeExportedBytes() == Array(64..<80))
    }

    @Test func splitAllowsEmptyPieces() {
        let pieces = SecureBytes([1, 2]).split([0, 2, 0])
        #expect(pieces.map(\.count) == [0, 2, 0])
        #expect(pieces[1].unsafeExportedBytes() == [1, 2])
    }

    @Test func descriptionRedactsTheBytes() {
        let secret = SecureBytes([0x41, 0x42, 0x43, 0xfe])
        #expect(secret.description == "SecureBytes(4 bytes, redacted)")
        #expect(secret.debugDescription == secret.description)
        #expect("\(secret)" == secret.description)
        #expect(String(reflecting: secret) == secret.description)
        for rendering in [secret.description, String(reflecting: secret)] {
            #expect(!rendering.contains("ABC"))
            #expect(!rendering.lowercased().contains("fe"))
            #expect(!rendering.contains("65"))
        }
    }

    @Test func copiesShareTheValue() {
        let original = SecureBytes([5, 6, 7])
        let copy = original
        #expect(copy.isEqual(to: original))
    }
}

struct ConstantTimeTests {
    @Test func equalArraysCompareEqual() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(ConstantTime.equals([UInt8](repeating: 0xff, count: 64), [UInt8](repeating: 0xff, count: 64)))
    }

    @Test func emptyArraysCompareEqual() {
        #expect(ConstantTime.equals([], []))
    }

    @Test func anyDifferingBitMakesThemUnequal() {
        let reference: [UInt8] = Array(0..<16)
        for bit in 0..<(reference.count * 8) {
            #expect(!ConstantTime.equals(reference, reference.flippingBit(bit)), "bit \(bit)")
        }
    }

    @Test func differentLengthsAreUnequal() {
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
        #expect(!ConstantTime.equals([0], []))
    }
}
