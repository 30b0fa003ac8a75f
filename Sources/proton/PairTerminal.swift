import Foundation
import ProtonBluetooth

/// What `proton pair` shows and asks while it runs. Progress and questions go to stderr when
/// --json is given (stdout then carries only the JSON result), to stdout otherwise; the digits
/// are always shown, since comparing them is the point.
final class PairTerminal: Sendable {
    let json: Bool
    let interactive: Bool

    init(json: Bool) {
        self.json = json
        interactive = isatty(STDERR_FILENO) == 1
    }

    func info(_ line: String) {
        write(line + "\n")
    }

    private func write(_ text: String) {
        let text = TerminalText.neutralised(text)
        if json {
            FileHandle.standardError.write(Data(text.utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    /// "Do the numbers match? [y/N]" — yes only for y or yes; anything else, or end of input, is no.
    func confirm(sas: String, assumeYes: Bool) async -> Bool {
        let spaced = sas.count == 6 ? "\(sas.prefix(3)) \(sas.suffix(3))" : sas
        write("\n    Numbers:  \(spaced)\n\n")
        write("Check that the other screen shows the same six digits.\nDo the numbers match? [y/N] ")
        if assumeYes {
            write("yes (--yes)\n")
            return true
        }
        let answer = await Self.readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        return answer == "y" || answer == "yes"
    }

    /// Asks for a number from 1 to `count`; nil on end of input or anything else.
    func choose(count: Int) async -> Int? {
        write("Pair with which device? [1-\(count)] ")
        guard let answer = await Self.readLine()?.trimmingCharacters(in: .whitespaces), let number = Int(answer),
            (1...count).contains(number)
        else {
            write("\n")
            return nil
        }
        if !interactive { write("\(number)\n") }
        return number
    }

    /// One line redrawn in place on a terminal; a line every few seconds otherwise.
    func scanProgress(_ progress: ScanProgress) {
        switch progress {
        case .inquiring(let elapsed, let total):
            if interactive {
                let width = 30
                let filled = Int(Double(width) * min(1, elapsed / total))
                FileHandle.standardError.write(Data("\r  inquiry [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(Int(elapsed)) / \(Int(total.rounded())) s ".utf8))
            } else if Int(elapsed * 4) % 12 == 0 {
                FileHandle.standardError.write(Data("  inquiry: \(Int(elapsed)) of \(Int(total.rounded())) s\n".utf8))
            }
        case .inquiryFinished(let found):
            if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            info("Inquiry finished: \(Output.plural(found, "device")) in range; asking each for its name and the Proton service")
        case .checking(let address, let index, let count):
            info("  [\(index)/\(count)] \(address)")
        }
    }

    func endProgress() {}

    /// A line from stdin, read on a thread of its own so a person thinking does not hold one of
    /// the few cooperative threads.
    static func readLine() async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: "proton.pair.stdin").async {
                continuation.resume(returning: Swift.readLine(strippingNewline: true))
            }
        }
    }
}
