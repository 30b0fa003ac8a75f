import Foundation
import ProtonCore
import ProtonStore

/// A relationship as an application shows it: the stored proton, opened, with the persona it
/// belongs to and how many messages it has logged.
public struct Contact: Sendable {
    public let summary: ContactSummary
    public let proton: Proton
    public let persona: StoredPersona?
    public let loggedMessages: Int

    public var id: ProtonID { summary.id }
    /// The peer's display name, once their first message has brought it.
    public var name: String { proton.peerDisplayName ?? "(no name yet)" }

    /// Every relationship in `store`, opened.
    public static func loadAll(from store: ProfileStore) throws(ProfileError) -> [Contact] {
        try ProfileError.classifying { try load(store.protons(), from: store) }
    }

    /// These relationships, opened.
    public static func load(_ summaries: [ContactSummary], from store: ProfileStore) throws(ProfileError) -> [Contact] {
        try ProfileError.classifying { try opened(summaries, from: store) }
    }

    private static func opened(_ summaries: [ContactSummary], from store: ProfileStore) throws -> [Contact] {
        let personas = Dictionary(uniqueKeysWithValues: try store.personas().map { ($0.id, $0) })
        let counts = try store.messageCounts()
        return try summaries.map { summary in
            Contact(
                summary: summary, proton: try store.proton(summary.id), persona: personas[summary.personaID],
                loggedMessages: counts[summary.id] ?? 0)
        }
    }

    /// The one summary `query` names: a display name (any case), else a prefix of a
    /// relationship id.
    public static func resolve(_ query: String, in summaries: [ContactSummary]) throws(ProfileError) -> ContactSummary {
        let wanted = query.lowercased()
        let byName = summaries.filter { $0.peerDisplayName?.lowercased() == wanted }
        let matches = byName.isEmpty && !wanted.isEmpty ? summaries.filter { $0.relationshipID.hasPrefix(wanted) } : byName
        switch matches.count {
        case 1: return matches[0]
        case 0: throw .noSuchContact(query)
        default: throw .ambiguousContact(query, relationshipIDs: matches.map(\.relationshipID))
        }
    }
}
