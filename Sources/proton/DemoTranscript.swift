import Foundation

/// What `proton demo` prints: a heading per step, each command as a person would type it, and
/// its outcome on an indented line; with `--verbose`, every command's whole output as well.
struct DemoTranscript {
    let shell: DemoShell
    let verbose: Bool

    func heading(_ number: Int, _ title: String) {
        emit("\n== \(number). \(title) ==")
    }

    func note(_ text: String) {
        emit("  (\(text))")
    }

    func command(_ arguments: [String]) {
        emit("  $ \(shell.display(arguments))")
    }

    func outcome(_ text: String) {
        emit("      → \(text)")
    }

    func output(_ result: DemoShell.Result) {
        guard verbose else { return }
        for (stream, text) in [("", result.stdout), ("stderr: ", result.stderr)] {
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0)
            where !text.isEmpty {
                emit("      │ \(stream)\(line)")
            }
        }
        emit("      │ exit status \(result.status)")
    }

    func emit(_ line: String) {
        // Straight to the descriptor: print's buffer would hold lines back from a pipe until exit.
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// A step whose outcome was not the one the story expects.
struct DemoFailure: Error, CustomStringConvertible {
    let step: String
    let problem: String

    var description: String { "The demo failed at the step '\(step)': \(problem)" }
}
