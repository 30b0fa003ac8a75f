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

extension PresentedAttestationCheck {
    /// 76 when the attestation showed that its directory forked: the relationship is stored,
    /// unverified, and the evidence is kept.
    func throwIfForked() throws {
        guard let fork else { return }
        throw CommandFailure(
            status: .directoryMisbehaved,
            message: "\(directory ?? "The directory") shows different logs to different people (\(fork)). The relationship is stored but unverified; both signed checkpoints are kept as evidence ('proton directory list').")
    }
}
