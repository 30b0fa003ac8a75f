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
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        // Foundation pretty-prints an empty array over three lines.
        print(text.filter { !$0.isWhitespace } == "[]" ? "[]" : text)
    }

    /// Left-aligned columns, two spaces apart, under a header row.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            let cells = row.indices.map { column in
                column == row.count - 1 ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "  "))
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
