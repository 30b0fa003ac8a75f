import Foundation
@testable import ProtonQR
import Testing

@Suite("PNG writer")
struct PNGWriterTests {
    @Test func checksumsMatchKnownValues() {
        // The CRC-32 check value ("123456789") and PNG's IEND chunk CRC; Adler-32 of "Wikipedia".
        #expect(PNGWriter.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(PNGWriter.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(PNGWriter.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(PNGWriter.adler32([]) == 1)
        // Long enough that the sums are reduced more than once.
        let long = [UInt8](repeating: 0xFF, count: 100_000)
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in long {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        #expect(PNGWriter.adler32(long) == b << 16 | a)
    }

    @Test func storedBlocksSplitAt65535Bytes() {
        let data = [UInt8](repeating: 7, count: 70_000)
        let stream = PNGWriter.zlibStored(data)
        #expect(stream.prefix(2) == [0x78, 0x01])
        #expect((UInt16(stream[0]) << 8 | UInt16(stream[1])) % 31 == 0)
        #expect(stream[2] == 0)  // not final
        #expect(stream[3] == 0xFF && stream[4] == 0xFF && stream[5] == 0 && stream[6] == 0)
        let second = 2 + 5 + 65_535
        #expect(stream[second] == 1)  // final
        #expect(Int(stream[second + 1]) | Int(stream[second + 2]) << 8 == 70_000 - 65_535)
        #expect(stream.count == 2 + 5 + 65_535 + 5 + (70_000 - 65_535) + 4)
    }

    @Test func writesAValidPNGStructure() async throws {
        let grid = try QRCode.encode(alphanumeric: "HELLO").withQuietZone()
        let png = try PNGWriter.encode(grid, scale: 3)
        #expect(Array(png.prefix(8)) == PNGWriter.signature)
        #expect(String(decoding: png[12..<16], as: UTF8.self) == "IHDR")
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == grid.width * 3)
        #expect(String(decoding: png.suffix(8).prefix(4), as: UTF8.self) == "IEND")
        #expect(throws: PNGWriter.Error.invalidScale(0)) { try PNGWriter.encode(grid, scale: 0) }
    }

    @Test(.enabled(if: ZBar.isInstalled, "\(ZBar.missing)"))
    func zbarReadsTheImage() async throws {
        let text = try QRCodeTests.typicalInviteText()
        let code = try QRCode.encode(alphanumeric: text, maximumVersion: 10)
        #expect(try await ZBar.decode(png: PNGWriter.encode(code.withQuietZone(), scale: 4)) == text)
    }

    @Test(.enabled(if: ZBar.isInstalled, "\(ZBar.missing)"), arguments: [TerminalRendering.Style.halfBlocks, .ascii], [false, true])
    func terminalRenderingDecodesToTheSameText(style: TerminalRendering.Style, invert: Bool) async throws {
        let text = try QRCodeTests.typicalInviteText()
        let printed = TerminalRendering.render(try QRCode.encode(alphanumeric: text, maximumVersion: 10), style: style, invert: invert)
        let seen = try TerminalRendering.modules(fromRendering: printed, style: style, invert: invert)
        #expect(try await ZBar.decode(png: PNGWriter.encode(seen, scale: 4)) == text)
    }
}
