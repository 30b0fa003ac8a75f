import Foundation
import ProtonQR
import Testing

@Suite("QR rendering")
struct RenderingTests {
    static func sample() throws -> QRCode { try QRCode.encode(alphanumeric: "PROTON QR TEST 0123456789") }

    @Test(arguments: [TerminalRendering.Style.halfBlocks, .ascii], [false, true])
    func renderingReadsBackToTheSameModules(style: TerminalRendering.Style, invert: Bool) throws {
        let code = try Self.sample()
        let text = TerminalRendering.render(code, style: style, invert: invert)
        let grid = try TerminalRendering.modules(fromRendering: text, style: style, invert: invert)
        #expect(grid == code.withQuietZone(4))
    }

    @Test func halfBlocksUseTwoModuleRowsPerLineAndOnlyFourCharacters() throws {
        let code = try Self.sample()
        let lines = TerminalRendering.render(code, style: .halfBlocks).split(separator: "\n")
        let side = code.size + 8
        #expect(lines.count == (side + 1) / 2)
        #expect(lines.allSatisfy { $0.count == side })
        #expect(Set(lines.joined()).isSubset(of: ["█", "▀", "▄", " "]))
        // Dark on light by default: the quiet zone is painted (light), and invert leaves it unpainted.
        #expect(lines[0].allSatisfy { $0 == "█" })
        let inverted = TerminalRendering.render(code, style: .halfBlocks, invert: true).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(inverted[0].allSatisfy { $0 == " " })
    }

    @Test func asciiUsesTwoCharactersPerModule() throws {
        let code = try Self.sample()
        let lines = TerminalRendering.render(code, style: .ascii).split(separator: "\n")
        #expect(lines.count == code.size + 8)
        #expect(lines.allSatisfy { $0.count == 2 * (code.size + 8) && $0.allSatisfy { $0 == "#" || $0 == " " } })
    }

    @Test func refusesRenderingsThatAreNotQRCodes() {
        #expect(throws: QRError.self) { try TerminalRendering.modules(fromRendering: "", style: .halfBlocks) }
        #expect(throws: QRError.self) { try TerminalRendering.modules(fromRendering: "██\n█\n", style: .halfBlocks) }
        #expect(throws: QRError.self) { try TerminalRendering.modules(fromRendering: "█x\n██\n", style: .halfBlocks) }
        #expect(throws: QRError.self) { try TerminalRendering.modules(fromRendering: "####\n", style: .ascii) }
    }

    @Test(arguments: [
        ([:], false),
        (["LANG": "en_US.UTF-8"], true),
        (["LANG": "C.utf8"], true),
        (["LANG": "en_US.UTF-8", "LC_CTYPE": "POSIX"], false),
        (["LANG": "C", "LC_ALL": "de_DE.UTF-8"], true),
        (["LC_ALL": "", "LC_CTYPE": "en_GB.ISO-8859-1", "LANG": "en_GB.UTF-8"], false),
        (["LANG": "C"], false),
    ])
    func utf8IsDecidedFromTheLocaleVariablesInPOSIXOrder(environment: [String: String], isUTF8: Bool) {
        #expect(TerminalRendering.localeIsUTF8(environment: environment) == isUTF8)
    }
}
