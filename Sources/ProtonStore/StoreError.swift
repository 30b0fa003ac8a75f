import Foundation

/// Why the store refused or failed. Each case reads as one sentence, so a command-line tool can
/// print it as it is.
public enum StoreError: Error, Equatable, Sendable {
    /// There is no profile in this directory.
    case noProfile(directory: String)
    /// A profile already exists in this directory.
    case profileExists(directory: String)
    /// The profile directory or database file could not be created.
    case cannotCreate(path: String, reason: String)
    /// The profile cannot be written (a read-only file system, or another user's files), and
    /// the command needs to write (commands that only read open such a profile read-only).
    case notWritable(path: String, reason: String)
    /// The profile's secrets are protected by a passphrase and none was given.
    case passphraseRequired
    /// The passphrase does not open this profile's secrets.
    case wrongPassphrase
    /// The profile was written by a newer version of Proton.
    case newerFormat
    /// Stored data did not decode: the file is damaged or was altered.
    case corrupt(what: String)
    /// No persona has this id.
    case unknownPersona(PersonaID)
    /// No proton has this id.
    case unknownProton(ProtonID)
    /// The proton's identity is not this persona's.
    case personaMismatch(PersonaID)
    /// The proton given to replace a stored one is for a different relationship.
    case protonMismatch(ProtonID)
    /// A proton for this relationship is already stored.
    case duplicateRelationship(relationshipID: String)
    /// The database or its write-ahead log was deleted or replaced while open.
    case filesReplaced(String)
    /// Another process holds the database and did not let go in time.
    case busy
    /// The disk (or file system) holding the profile has no room left: nothing was written.
    case diskFull
    /// SQLite reported an error not covered above.
    case database(message: String)
    /// The store was closed (by its owner, while this call was on its way).
    case closed
}

extension StoreError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .noProfile(let directory):
            "there is no Proton profile in \(directory)"
        case .profileExists(let directory):
            "a Proton profile already exists in \(directory)"
        case .cannotCreate(let path, let reason):
            "could not create \(path): \(reason)"
        case .notWritable(let path, let reason):
            "the profile at \(path) cannot be written (\(reason))"
        case .passphraseRequired:
            "this profile is protected by a passphrase and none was given"
        case .wrongPassphrase:
            "the passphrase does not open this profile"
        case .newerFormat:
            "this profile was written by a newer version of Proton"
        case .corrupt(let what):
            "the stored \(what) is damaged and could not be read"
        case .unknownPersona(let id):
            "there is no persona with id \(id)"
        case .unknownProton(let id):
            "there is no proton with id \(id)"
        case .personaMismatch(let id):
            "the proton does not belong to persona \(id)"
        case .protonMismatch(let id):
            "the proton given is for a different relationship than proton \(id)"
        case .duplicateRelationship(let relationshipID):
            "a proton for relationship \(relationshipID) is already stored"
        case .filesReplaced(let what):
            what
        case .busy:
            "the profile database is busy in another process"
        case .diskFull:
            "the disk holding the profile is full"
        case .database(let message):
            "the profile database reported an error: \(message)"
        case .closed:
            "the profile was closed"
        }
    }

    public var errorDescription: String? { description }
}
