import Foundation
import ProtonAgents
import ProtonCore
import ProtonPairing
import ProtonStore

/// Why a `Profile` refused or failed. Each case says what is wrong in the library's words;
/// what to do about it is the application's to say (the `proton` tool maps each case to a
/// sentence and an exit status in one table).
public enum ProfileError: Error, Sendable, Equatable {
    /// The profile's storage refused or failed (no profile, a wrong passphrase, a full disk…).
    case store(StoreError)
    /// The services configuration refused (no sending or receiving service, a bad URI…).
    case agent(AgentError)
    /// A service could not be reached or refused the request.
    case service(RelayError)
    /// An invite, or a reply to one, was refused by the rules (expired, used, our own…).
    case invite(InviteError)
    /// An attesting directory refused, failed or misbehaved, or the directory trust state did.
    case directory(DirectoryError)
    /// A pairing stopped: the other device went away, the digits were not confirmed, or the
    /// exchange did not check out (possibly someone in the middle). Nothing was stored.
    case pairing(PairingError)
    /// A prepared pairing was used already (by `pair` or `cancelPairing`).
    case pairingAlreadyUsed
    /// An attestation too large for a pairing to carry.
    case attestationTooLarge(name: String, bytes: Int, maximum: Int)
    /// The relationship refused the step (blocked, a body too large, too many pending updates…).
    case relationship(Proton.Error)
    /// Text that should be an invite is not one. `isReply` when it is a reply to an invite.
    case notAnInvite(reason: String, isReply: Bool)
    /// The invite parses but its signature does not verify: altered or forged.
    case forgedInvite
    /// Text that should be a reply to an invite is not one. `isInvite` when it is an invite.
    case notAReply(reason: String, isInvite: Bool)
    /// The reply does not decrypt with the invite's keys: altered or forged.
    case undecryptableReply
    /// The reply names an invite of ours but not the way that invite was made.
    case mismatchedReply(reason: String)
    /// The encoded invite or reply needs a larger QR code than allowed.
    case tooLargeForQRCode(bytes: Int, maximumVersion: Int, serviceURI: String?)
    /// The profile has no persona at all.
    case noPersona
    /// No persona has this display name or id prefix.
    case noSuchPersona(String)
    /// Several personas match.
    case ambiguousPersona(String, matches: Int)
    /// No contact has this display name or relationship id prefix.
    case noSuchContact(String)
    /// Several contacts match; their relationship ids.
    case ambiguousContact(String, relationshipIDs: [String])
    /// A persona with this display name exists already.
    case personaExists(String)
    /// A display name that cannot be used (empty, too long, control characters).
    case unusableName(WireError)
    /// Data read from outside is malformed.
    case invalidData(WireError)
    /// The profile was closed.
    case closed
    /// The step was cancelled.
    case cancelled
    /// The invite's expiry is not in the future, or further away than allowed.
    case invalidExpiry(maximumSeconds: Int)
    /// Anything else, described.
    case unexpected(String)

    /// Classifies what the lower layers throw.
    public init(_ error: any Error) {
        switch error {
        case let error as ProfileError: self = error
        case StoreError.closed: self = .closed
        case let error as StoreError: self = .store(error)
        case let error as AgentError: self = .agent(error)
        case let error as RelayError: self = .service(error)
        case let error as InviteError: self = .invite(error)
        case let error as DirectoryError: self = .directory(error)
        case let error as DirectoryClient.Failure: self = .directory(.client(error))
        case let error as Proton.Error: self = .relationship(error)
        case let error as PairingError: self = .pairing(error)
        case let error as WireError: self = .invalidData(error)
        case is CancellationError: self = .cancelled
        default: self = .unexpected(String(describing: error))
        }
    }

    /// Runs `body`, classifying whatever it throws.
    @discardableResult
    static func classifying<T>(_ body: () throws -> T) throws(ProfileError) -> T {
        do { return try body() } catch { throw ProfileError(error) }
    }

    @discardableResult
    static func classifying<T>(_ body: () async throws -> T) async throws(ProfileError) -> T {
        do { return try await body() } catch { throw ProfileError(error) }
    }
}

extension ProfileError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .store(let error): error.description
        case .agent(let error): error.description
        case .service(let error): error.description
        case .invite(let error): error.description
        case .directory(let error): error.description
        case .pairing(let error): "the pairing stopped: \(error)"
        case .pairingAlreadyUsed: "this prepared pairing was used already; prepare a new one"
        case .attestationTooLarge(let name, let bytes, let maximum): "the attestation of \(name) is \(bytes) bytes, more than the \(maximum) a pairing carries"
        case .relationship(let error): "the relationship refused the step: \(error)"
        case .notAnInvite(let reason, let isReply):
            isReply ? "this is a reply to an invite, not an invite" : "this is not a valid invite: \(reason)"
        case .forgedInvite: "the invite's signature does not verify: it was altered or forged"
        case .notAReply(let reason, let isInvite):
            isInvite ? "this is an invite, not a reply to one" : "this is not a valid reply: \(reason)"
        case .undecryptableReply: "the reply does not decrypt with the invite's keys: it was altered or forged"
        case .mismatchedReply(let reason): "this reply cannot start a relationship: \(reason)"
        case .tooLargeForQRCode(let bytes, let version, _): "\(bytes) bytes need a QR code larger than version \(version)"
        case .noPersona: "this profile has no persona"
        case .noSuchPersona(let query): "no persona is named \"\(query)\" or has an id starting with it"
        case .ambiguousPersona(let query, let matches): "\"\(query)\" matches \(matches) personas"
        case .noSuchContact(let query): "no contact is named \"\(query)\" or has a relationship id starting with it"
        case .ambiguousContact(let query, let ids): "\"\(query)\" matches \(ids.count) contacts (\(ids.joined(separator: ", ")))"
        case .personaExists(let name): "a persona named \"\(name)\" already exists in this profile"
        case .unusableName(let error): "the display name cannot be used: \(error)"
        case .invalidData(let error): "the data is invalid: \(error)"
        case .closed: "the profile is closed"
        case .cancelled: "the step was cancelled"
        case .invalidExpiry(let maximum): "an invite's expiry must be in the future and at most \(maximum / 86_400) days away"
        case .unexpected(let text): "unexpected internal error: \(text)"
        }
    }
}
