import Foundation

/// What others wrote (a contact's name or message, a service's or directory's words) reaches a
/// terminal as text and never as commands to it. Unfiltered, a message could carry escape
/// sequences that retitle the window, write the clipboard (OSC 52) or rewrite lines already on
/// screen, a carriage return could hide what came before it, and a bidirectional override could
/// make `Bob\u{202E}gnp.exe` read as "Bobexe.png".
enum TerminalText {
    /// C0 controls other than newline and tab, DEL, C1 controls (U+0080–U+009F, CSI among them),
    /// line and paragraph separators and bidirectional controls each become U+FFFD.
    static func neutralised(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(isUnsafe(scalar) ? "\u{FFFD}" : scalar)
        }
        return String(out)
    }

    /// JSON for a terminal or a pipe: the same data, with what `neutralised` replaces written
    /// as `\u` escapes (JSONEncoder escapes only C0), so nothing reaches a terminal raw.
    static func escapedJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: isUnsafe) else { return json }
        var out = ""
        for scalar in json.unicodeScalars {
            if isUnsafe(scalar) {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// One line: also newlines and tabs become spaces, for a table cell or a note that must not
    /// break into lines that could pass for others.
    static func line(_ text: String) -> String {
        neutralised(text).replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
    }

    /// A message body under its sender's name: later lines are indented, so a line in a message
    /// can never pass for a message of its own from someone else.
    static func body(_ text: String) -> String {
        neutralised(text).replacingOccurrences(of: "\n", with: "\n    ")
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: return false
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return scalar.properties.isBidiControl
        }
    }
}

/// Every line the commands print goes through `TerminalText.neutralised`: names, messages and
/// words from services are interpolated in many places, and one that forgot would be enough.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    let text = items.map { "\($0)" }.joined(separator: separator)
    Swift.print(TerminalText.neutralised(text), terminator: terminator)
}
