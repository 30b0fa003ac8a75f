import ArgumentParser
import Foundation
import ProtonClient

/// `proton directory list`.
struct DirectoryListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the pinned directories.")

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Entry: Encodable {
        let namespace: String
        let url: String
        let verifierKey: String
        let checkpointSize: UInt64?
        let checkpointSeen: Date?
        let forkEvidence: Int
        /// Checkpoints contacts gossiped that wait for the directory's consistency proof.
        let pendingGossip: Int
    }

    func run() async throws {
        let opened = try profile.openForReading()
        defer { opened.close() }
        let state = try await opened.directoryTrust()
        let entries = try state.directories.map { pinned in
            Entry(
                namespace: pinned.namespace, url: pinned.url, verifierKey: pinned.verifierKey, checkpointSize: try pinned.storedCheckpoint()?.size,
                checkpointSeen: pinned.checkpointSeen, forkEvidence: pinned.evidence.count, pendingGossip: pinned.gossiped?.count ?? 0)
        }
        if json { return try Output.json(entries) }
        guard !entries.isEmpty else { return print("No directories pinned.") }
        Output.table(
            ["NAMESPACE", "URL", "LOG SIZE", "AUDIT"],
            entries.map { [$0.namespace, $0.url, $0.checkpointSize.map { String($0) } ?? "-", $0.forkEvidence > 0 ? "FORK EVIDENCE" : "ok"] })
    }
}
