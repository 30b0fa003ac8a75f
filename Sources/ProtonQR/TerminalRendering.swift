import Foundation

/// QR codes as terminal text.
///
/// A terminal paints a character cell's glyph in the foreground colour over the background
/// colour. Most terminals are light text on a dark background, so by default the *light*
/// modules (and the quiet zone) are the painted ones and dark modules are left as background:
/// the code appears dark on light, as a scanner expects. `invert` paints the dark modules
/// instead, for dark-on-light terminal themes.
public enum TerminalRendering {
    public enum Style: Sendable, Equatable {
        /// Two module rows per line with `▀ ▄ █` and space: square modules, half the lines.
        case halfBlocks
        /// One module row per line, two characters per module (`##` painted, two spaces not):
        /// for terminals whose locale is not UTF-8.
        case ascii
    }

    static let painted = "##"
    static let unpainted = "  "

    /// The whole symbol with its quiet zone, one string of lines each ending in a newline.
    public static func render(_ code: QRCode, style: Style, invert: Bool = false, quietZone: Int = 4) -> String {
        render(code.withQuietZone(quietZone), style: style, invert: invert)
    }

    public static func render(_ grid: ModuleGrid, style: Style, invert: Bool = false) -> String {
        // Outside the grid (the half line under an odd last row) stays background.
        func isPainted(_ row: Int, _ column: Int) -> Bool {
            guard row < grid.height else { return false }
            return grid[row, column] == invert
        }
        var out = ""
        switch style {
        case .halfBlocks:
            out.reserveCapacity((grid.width * 3 + 1) * (grid.height + 1) / 2)
            for row in stride(from: 0, to: grid.height, by: 2) {
                for column in 0..<grid.width {
                    switch (isPainted(row, column), isPainted(row + 1, column)) {
                    case (true, true): out.append("█")
                    case (true, false): out.append("▀")
                    case (false, true): out.append("▄")
                    case (false, false): out.append(" ")
                    }
                }
                out.append("\n")
            }
        case .ascii:
            out.reserveCapacity((grid.width * 2 + 1) * grid.height)
            for row in 0..<grid.height {
                for column in 0..<grid.width { out += isPainted(row, column) ? painted : unpainted }
                out.append("\n")
            }
        }
        return out
    }

    /// Reads a rendering back into modules (quiet zone included): what a camera pointed at the
    /// terminal would see. Lines must be of one width; trailing blank lines are ignored.
    public static func modules(fromRendering text: String, style: Style, invert: Bool = false) throws(QRError) -> ModuleGrid {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let width = lines.first.map({ style == .ascii ? $0.count / 2 : $0.count }), width > 0 else {
            throw .unreadableRendering(reason: "it is empty")
        }
        var painted: [[Bool]] = []
        for (number, line) in lines.enumerated() {
            switch style {
            case .halfBlocks:
                guard line.count == width else { throw .unreadableRendering(reason: "line \(number + 1) is not \(width) wide") }
                var top: [Bool] = []
                var bottom: [Bool] = []
                for character in line {
                    switch character {
                    case "█": top.append(true); bottom.append(true)
                    case "▀": top.append(true); bottom.append(false)
                    case "▄": top.append(false); bottom.append(true)
                    case " ": top.append(false); bottom.append(false)
                    default: throw .unreadableRendering(reason: "line \(number + 1) has \(character.debugDescription)")
                    }
                }
                painted.append(top)
                painted.append(bottom)
            case .ascii:
                let characters = Array(line)
                guard characters.count == width * 2 else {
                    throw .unreadableRendering(reason: "line \(number + 1) is not \(width * 2) wide")
                }
                var row: [Bool] = []
                for column in 0..<width {
                    switch String(characters[2 * column...2 * column + 1]) {
                    case Self.painted: row.append(true)
                    case Self.unpainted: row.append(false)
                    default: throw .unreadableRendering(reason: "line \(number + 1) has an unknown module")
                    }
                }
                painted.append(row)
            }
        }
        // A QR code with its quiet zone is square: a half-block rendering of an odd number of
        // rows ends with a half line of background, which is not part of the code.
        if style == .halfBlocks, painted.count == width + 1, painted.last?.contains(true) == false { painted.removeLast() }
        guard painted.count == width else {
            throw .unreadableRendering(reason: "it is \(width) modules wide but \(painted.count) high")
        }
        return ModuleGrid(width: width, height: width, dark: painted.flatMap { $0.map { $0 == invert } })
    }

    /// Whether the terminal's locale is UTF-8, from the first of LC_ALL, LC_CTYPE and LANG that
    /// is set (POSIX's order of precedence); no locale at all is the "C" locale, which is ASCII.
    public static func localeIsUTF8(environment: [String: String]) -> Bool {
        for name in ["LC_ALL", "LC_CTYPE", "LANG"] {
            guard let value = environment[name], !value.isEmpty else { continue }
            let normalised = value.lowercased().replacingOccurrences(of: "-", with: "")
            return normalised.contains("utf8")
        }
        return false
    }
}
