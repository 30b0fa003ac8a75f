import ArgumentParser
import Foundation
import ProtonClient

/// `proton directory monitor`.
struct DirectoryMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Watch your own names: report any key a directory's log binds to them that is not yours.",
        discussion: """
            For each pinned directory under which this profile registered a name, audits the \
            directory's newest checkpoint, then reads every log entry added since the last scan \
            (the first scan reads the whole log) and checks them all against the signed root, so \
            that no entry can be hidden or swapped. An entry about one of your names for a key \
            none of your personas holds (registered, changed or revoked by someone else, or forced \
            in by the operator) is reported with its inclusion proof, and the command exits 76. \
            Entries it read are not read again.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let directory: String
        let names: [String]
        let from: UInt64
        let to: UInt64
        let findings: [Profile.MonitorFinding]
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let scans = try await opened.monitorNames()
        let entries = scans.map { Entry(directory: $0.pinned.url, names: $0.names, from: $0.from, to: $0.to, findings: $0.findings) }
        if json {
            try Output.json(entries)
        } else if entries.isEmpty {
            print("No name registered from this profile at a pinned directory; nothing to watch.")
        } else {
            for entry in entries {
                print("\(entry.directory): read entries \(entry.from)..<\(entry.to) for \(entry.names.joined(separator: ", ")).")
                for finding in entry.findings {
                    print(
                        "  NOT YOURS: log index \(finding.logIndex), \(finding.kind) of \(finding.name) for the key \(finding.identityKey) (proof: \(finding.proof.count) hashes).")
                }
            }
        }
        let findings = entries.flatMap(\.findings)
        if !findings.isEmpty {
            throw CommandFailure(
                status: .directoryMisbehaved,
                message:
                    "\(findings.count) log \(findings.count == 1 ? "entry binds" : "entries bind") a name of yours to a key that is not yours; the entry and its proof are above.")
        }
    }
}
