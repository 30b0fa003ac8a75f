import Foundation
import ProtonCore
import ProtonCrypto

/// How the commands print: JSON for `--json` (bytes as base64url, dates in ISO 8601, keys
/// sorted so the output diffs well), aligned columns for people.
enum Output {
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let text = TerminalText.escapedJSON(String(decoding: try encoder.encode(value), as: UTF8.self))
        // Foundation pretty-prints an empty array over three lines.
        Swift.print(text.filter { !$0.isWhitespace } == "[]" ? "[]" : text)
    }

    /// Left-aligned columns, two spaces apart, under a header row. Cells are never cut: a
    /// column is as wide as its widest cell as a terminal draws it (wide characters and emoji
    /// take two columns, joiners and combining marks none).
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = ([header] + rows).map { $0.map(TerminalText.line) }
        let widths = header.indices.map { column in all.map { width(of: $0[column]) }.max() ?? 0 }
        for row in all {
            let cells = row.indices.map { column in
                column == row.count - 1 ? row[column] : row[column] + String(repeating: " ", count: widths[column] - width(of: row[column]))
            }
            print(cells.joined(separator: "  "))
        }
    }

    /// Terminal columns `text` takes, by grapheme: 0 for one made only of ignorable characters
    /// and marks, 2 for an emoji or an East Asian wide character, else 1.
    static func width(of text: String) -> Int {
        text.reduce(0) { total, character in
            let scalars = character.unicodeScalars
            guard let first = scalars.first(where: { !$0.properties.isDefaultIgnorableCodePoint }) else { return total }
            if [.nonspacingMark, .enclosingMark].contains(first.properties.generalCategory) { return total }
            let wide = first.properties.isEmojiPresentation || scalars.contains { $0.value == 0xFE0F } || isWide(first.value)
            return total + (wide ? 2 : 1)
        }
    }

    /// East Asian Wide and Fullwidth blocks (UAX #11): Hangul Jamo, CJK, Hangul syllables,
    /// compatibility ideographs, fullwidth forms, and the supplementary ideographic planes.
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// "2027-01-15 08:00:00 UTC".
    static func date(_ date: Date) -> String {
        date.formatted(.iso8601.dateTimeSeparator(.space).timeZoneSeparator(.omitted))
            .replacingOccurrences(of: "Z", with: " UTC")
    }

    /// "50 seconds", "1 hour", "7 days".
    static func duration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        for (unit, size) in [("day", 86_400), ("hour", 3_600), ("minute", 60)] where seconds >= size && seconds % size == 0 {
            return plural(seconds / size, unit)
        }
        return plural(seconds, "second")
    }

    static func plural(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
}

extension Array where Element == UInt8 {
    /// RFC 4648 section 5, without padding.
    var base64URL: String {
        Data(self).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    var hex: String {
        map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}

extension SafetyNumber {
    /// The first two groups: enough to tell contacts apart in a listing, never to verify.
    var prefix: String { String(description.prefix(11)) }
}
