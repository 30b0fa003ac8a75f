import Foundation

/// The receive agent's memory per address: the last message id recorded in the profile and
/// the last id acknowledged to the service. Kept in `receive-state.json` beside the profile so
/// that, after a crash between recording and acknowledging, the next run acknowledges rather
/// than fetches again; a message that does come again is a ratchet duplicate and is dropped.
struct ReceiveCursors: Codable, Sendable, Equatable {
    static let fileName = "receive-state.json"

    struct Cursor: Codable, Sendable, Equatable {
        var recorded: Int64 = 0
        var acknowledged: Int64 = 0
    }

    /// Keyed by the address in hex.
    var addresses: [String: Cursor] = [:]

    static func load(from url: URL?) throws(AgentError) -> ReceiveCursors {
        guard let url else { return ReceiveCursors() }
        return try JSONFile.read(ReceiveCursors.self, at: url) ?? ReceiveCursors()
    }

    func save(to url: URL?) throws(AgentError) {
        guard let url else { return }
        try JSONFile.write(self, to: url)
    }
}
