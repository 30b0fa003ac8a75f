import Foundation
import ProtonStore

/// The receive cursors as an earlier version kept them, in `receive-state.json` beside the
/// profile, written after the transaction that recorded the message. They now live in the
/// profile's database (`ReceiveCursor`), written in that transaction; the receive agent takes
/// the file in once and deletes it.
struct LegacyReceiveCursors: Codable, Sendable, Equatable {
    static let fileName = "receive-state.json"

    struct Cursor: Codable, Sendable, Equatable {
        var recorded: Int64 = 0
        var acknowledged: Int64 = 0
    }

    /// Keyed by the address in hex.
    var addresses: [String: Cursor] = [:]

    /// Moves the file's cursors into the store and deletes the file.
    static func importFile(in directory: URL, into store: ProfileStore) throws(AgentError) {
        let url = directory.appendingPathComponent(fileName, isDirectory: false)
        guard let legacy = try JSONFile.read(LegacyReceiveCursors.self, at: url) else { return }
        do {
            try store.importReceiveCursors(legacy.addresses.mapValues { ReceiveCursor(recorded: $0.recorded, acknowledged: $0.acknowledged) })
            try FileManager.default.removeItem(at: url)
        } catch {
            throw .configuration(path: url.path, reason: "\(error)")
        }
    }
}
