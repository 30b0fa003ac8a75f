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
            checkpoints are kept as evidence, and the command exits 76 (EX_PROTOCOL). An \
            unreachable directory exits 69 after the others are checked.
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
        }
        if json {
            try Output.json(entries)
        } else {
            Output.table(
                ["NAMESPACE", "URL", "RESULT", "LOG SIZE"],
                entries.map { [$0.namespace, $0.url, $0.result + ($0.detail.map { " (\($0))" } ?? ""), $0.size.map { String($0) } ?? "-"] })
        }
        if let worst {
            throw CommandFailure(
                status: worst,
                message: worst == .directoryMisbehaved
                    ? "At least one directory's log forked or rolled back; see the report above."
                    : "At least one directory could not be reached; its log was not checked.")
        }
    }
}
