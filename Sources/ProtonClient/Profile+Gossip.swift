import Foundation
import ProtonAgents
import ProtonCore
import ProtonDirectory
import ProtonStore

/// Checkpoint gossip through relationships (docs/directory.md, "Gossip through relationships"):
/// each message to a contact who follows a directory this profile pins may carry our newest
/// checkpoint of it, once per checkpoint; each checkpoint a contact gossips is weighed against
/// ours. A directory that shows two people two trees is caught as soon as they write to each
/// other: offline when the trees have one size, at the next online step otherwise.
extension Profile {
    /// What a message to a contact may carry (`DirectoryTrust.checkpointOffers`); nothing when
    /// the trust state cannot be read, which must never stop a message.
    func checkpointOffers() -> @Sendable (Proton) -> [Proton.CheckpointOffer] {
        guard let state = try? directoryTrust(), !state.directories.isEmpty else { return { _ in [] } }
        return state.checkpointOffers()
    }

    /// Weighs the checkpoints contacts gossiped since the last call (`ProfileStore`'s queue,
    /// filled by the receive agent with the message that carried each), offline: the same tree
    /// is dropped, the same size with another root is kept as fork evidence and reported, and
    /// another size waits for the next online step's consistency proof. A checkpoint of a
    /// directory not pinned here, or not signed by its pinned key, is dropped.
    /// What cannot be weighed now (the trust state cannot be read or saved) stays queued for
    /// the next round.
    public func checkGossipedCheckpoints() async -> [ReceiveEvent] {
        guard let queued = try? store.gossipedCheckpoints(), let last = queued.last else { return [] }
        var events: [ReceiveEvent] = []
        do {
            try await saving { (state) throws(DirectoryError) in
                let now = Date()
                for gossiped in queued {
                    // A relationship that cannot be read is skipped; its gossip goes with the rest.
                    guard let proton = try? store.proton(gossiped.protonID) else { continue }
                    if case .fork(let directory, let evidence) = state.weighGossiped(gossiped.note, relationship: proton.relationshipID, now: now) {
                        events.append(.directoryForked(protonID: gossiped.protonID, directory: directory, summary: evidence.reason))
                    }
                }
            }
            try store.removeGossipedCheckpoints(through: last.id)
        } catch {
            return []
        }
        return events
    }
}
