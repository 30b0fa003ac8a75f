import Foundation
import ProtonCore
import ProtonStore

extension CommandFailure {
    /// Maps an invite's refusal to one sentence: a damaged or forged invite is bad data (65);
    /// one that expired or was used is refused by the protocol's rules (76).
    init(invite error: any Error) {
        switch error {
        case let error as InviteError:
            let status: ExitStatus =
                switch error {
                case .expired, .alreadyUsed, .alreadyAccepted: .refused
                case .ownInvite: .usage
                case .unknownInvite, .prekeyMismatch: .dataError
                case .noSpareAddress: .unavailable
                }
            let advice = error == .noSpareAddress ? "; run 'proton receive' once while online" : ""
            self.init(status: status, message: (error.description + advice).sentence)
        case StoreError.duplicateRelationship(let relationshipID):
            self.init(
                status: .dataError,
                message: "You already have a relationship (\(relationshipID)) between these two personas; 'proton show \(relationshipID)' shows it, and another persona can start a separate one.")
        case Proton.Error.expired:
            self.init(status: .refused, message: "The invite has expired; ask for a fresh one.")
        default:
            self.init(agent: error)
        }
    }
}

/// Which persona a command acts as: `--persona` by name or id prefix, else the first.
enum PersonaChoice {
    static func choose(_ query: String?, in store: ProfileStore) throws -> StoredPersona {
        let personas = try store.personas()
        guard let wanted = query?.lowercased() else {
            guard let first = personas.first else { throw CommandFailure(status: .dataError, message: "This profile has no persona.") }
            return first
        }
        let byName = personas.filter { $0.displayName.lowercased() == wanted }
        let matches = byName.isEmpty ? personas.filter { $0.id.rawValue.hasPrefix(wanted) } : byName
        guard matches.count == 1 else {
            throw CommandFailure(
                status: .usage,
                message: matches.isEmpty
                    ? "No persona is named \"\(query!)\" or has an id starting with it; 'proton persona list' lists them."
                    : "\"\(query!)\" matches \(matches.count) personas; give more of the id.")
        }
        return matches[0]
    }
}
