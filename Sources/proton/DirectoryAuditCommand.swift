import ArgumentParser
import Foundation
import ProtonClient

/// `proton directory audit`.
struct DirectoryAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check that each pinned directory's log only grew since you last looked.",
        discussion: """
            Fetches each pinned directory's newest signed checkpoint and a consistency proof from \
            the checkpoint stored at the last audit (or lookup). A checkpoint of the same size with \
            another root, one that does not extend the stored tree, or a smaller tree that the \
            stored one does not extend is a fork: it is reported on standard error, both signed \
            checkpoints are kept as evidence, and the command exits 76 (EX_PROTOCOL). Then the \
            checkpoint of every attestation stored for the directory's namespace is checked the \
            same way, with a consistency proof from the directory: those presented in invites and \
            pairings are pending until this (or another online step) settles them, and one whose \
            checkpoint is not the log's is a fork too (exit 76; the attestation is dropped and kept \
            with the evidence). An unreachable directory, or attestations left pending, exit 69 \
            after the others are checked.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let namespace: String
        let url: String
        let result: String
        let size: UInt64?
        let detail: String?
        /// The stored attestations of this namespace whose checkpoints are proven consistent
        /// with the log (those presented in invites and pairings included).
        var attestationsConsistent = 0
        /// Those of them that were pending until this audit.
        var attestationsSettled: [String] = []
        /// Those still pending: the directory could not be asked.
        var attestationsPending: [String] = []
        /// Attestations whose checkpoints are not the log's: dropped, kept as evidence.
        var attestationForks: [String] = []
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        var entries = [Entry]()
        var worst: ExitStatus?
        for audited in try await opened.auditDirectories() {
            let pinned = audited.pinned
            switch audited.outcome {
            case .success(.first(let checkpoint)):
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "first", size: checkpoint.size, detail: nil))
            case .success(.unchanged(let checkpoint)):
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "unchanged", size: checkpoint.size, detail: nil))
            case .success(.extended(let from, let checkpoint)):
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "consistent", size: checkpoint.size, detail: "grew from \(from)"))
            case .success(.behind(let checkpoint)):
                entries.append(
                    Entry(namespace: pinned.namespace, url: pinned.url, result: "behind", size: checkpoint.size, detail: "an older state, consistent"))
            case .failure(.forked(let misbehaviour)):
                misbehaviour.report()
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "FORK", size: nil, detail: misbehaviour.summary))
                worst = .directoryMisbehaved
            case .failure(let error):
                entries.append(Entry(namespace: pinned.namespace, url: pinned.url, result: "unreachable", size: nil, detail: error.description))
                if worst == nil { worst = .unavailable }
            }
            let settlement = audited.attestations
            for fork in settlement.forks { fork.report() }
            if !settlement.forks.isEmpty { worst = .directoryMisbehaved }
            entries[entries.count - 1].attestationsConsistent = settlement.consistent
            entries[entries.count - 1].attestationsSettled = settlement.settled
            entries[entries.count - 1].attestationsPending = settlement.pending
            entries[entries.count - 1].attestationForks = settlement.forks.map(\.summary)
        }
        if json {
            try Output.json(entries)
        } else {
            Output.table(
                ["NAMESPACE", "URL", "RESULT", "LOG SIZE", "ATTESTATIONS"],
                entries.map {
                    [$0.namespace, $0.url, $0.result + ($0.detail.map { " (\($0))" } ?? ""), $0.size.map { String($0) } ?? "-", Self.attestations($0)]
                })
        }
        if worst == nil, entries.contains(where: { !$0.attestationsPending.isEmpty }) { worst = .unavailable }
        if let worst {
            throw CommandFailure(
                status: worst,
                message: worst == .directoryMisbehaved
                    ? "At least one directory's log forked or rolled back; see the report above."
                    : "At least one directory could not be reached; its log was not checked.")
        }
    }

    /// "4 consistent, 1 settled now, 2 pending, 1 FORKED".
    static func attestations(_ entry: Entry) -> String {
        var parts = ["\(entry.attestationsConsistent) consistent"]
        if !entry.attestationsSettled.isEmpty { parts.append("\(entry.attestationsSettled.count) settled now") }
        if !entry.attestationsPending.isEmpty { parts.append("\(entry.attestationsPending.count) pending") }
        if !entry.attestationForks.isEmpty { parts.append("\(entry.attestationForks.count) FORKED") }
        return parts.joined(separator: ", ")
    }
}
