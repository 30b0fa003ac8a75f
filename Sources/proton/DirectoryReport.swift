import Foundation
import ProtonClient

extension DirectoryAuditor.Misbehaviour {
    /// Several lines on stderr, impossible to miss, then the exit status for it.
    func report() {
        let lines = [
            "",
            "!!! proton: DIRECTORY MISBEHAVIOUR at \(directory)",
            "!!! \(summary).",
            "!!! \(detail)",
            "!!! Both signed checkpoints are kept as evidence in the profile ('proton directory list'); the stored checkpoint was not replaced.",
            "!!! Do not trust names from this directory until this is explained.",
            "",
        ]
        FileHandle.standardError.write(Data(lines.map(TerminalText.line).joined(separator: "\n").utf8))
    }
}

extension ExitStatus {
    /// 76, EX_PROTOCOL: a directory broke its promises (a forked or rolled-back log, an answer
    /// that does not verify under the pinned key).
    static var directoryMisbehaved: ExitStatus { ExitStatus(rawValue: 76) ?? .software }
}

extension Output {
    /// "1 entry", "7 entries".
    static func entries(_ count: UInt64) -> String { "\(count) \(count == 1 ? "entry" : "entries")" }
}
