import Foundation
import ProtonCore
import ProtonStore

/// The sysexits(3) codes the tool exits with.
enum ExitStatus: Int32 {
    case usage = 64
    case dataError = 65
    case noInput = 66
    case noUser = 67
    case unavailable = 69
    case software = 70
    case cannotCreate = 73
    case ioError = 74
    case temporaryFailure = 75
    /// EX_PROTOCOL: the other side's data is well-formed but refused by the protocol's rules
    /// (an invite that expired or was already used).
    case refused = 76
    case noPermission = 77
}

/// An error as the user sees it: one sentence on stderr and an exit status.
struct CommandFailure: Error {
    let status: ExitStatus
    let message: String

    init(status: ExitStatus, message: String) {
        self.status = status
        self.message = message
    }

    /// Maps any error a command can meet to one sentence and a status.
    init(_ error: any Error) {
        switch error {
        case let failure as CommandFailure:
            self = failure
        case let error as StoreError:
            self.init(store: error)
        case let error as WireError:
            self.init(status: .dataError, message: "The data is invalid: \(error).")
        default:
            self.init(status: .software, message: "Unexpected internal error: \(String(describing: error)).")
        }
    }

    private init(store error: StoreError) {
        switch error {
        case .noProfile(let directory):
            self.init(
                status: .noInput,
                message: "There is no Proton profile in \(directory); create one with 'proton init' or choose another with --profile.")
        case .profileExists(let directory):
            self.init(
                status: .cannotCreate,
                message: "A Proton profile already exists in \(directory); choose another directory with --profile.")
        case .cannotCreate:
            self.init(status: .cannotCreate, message: error.description.sentence)
        case .notWritable(let path, let reason):
            self.init(
                status: .cannotCreate,
                message: "The profile at \(path) cannot be written (\(reason)); proton writes to its profile even to list it (SQLite's write-ahead log), so copy it somewhere writable first.")
        case .passphraseRequired:
            self.init(
                status: .noPermission,
                message: "This profile is protected by a passphrase; set PROTON_PASSPHRASE to open it.")
        case .wrongPassphrase:
            self.init(status: .noPermission, message: "The passphrase in PROTON_PASSPHRASE does not open this profile.")
        case .newerFormat:
            self.init(status: .dataError, message: "This profile was written by a newer version of Proton; update proton to open it.")
        case .busy:
            self.init(status: .temporaryFailure, message: "The profile is busy in another process; try again in a moment.")
        case .filesReplaced(let what):
            self.init(
                status: .ioError,
                message: "\(what); stop every proton process using this profile and restore it from a backup, or check it with 'proton contacts'.")
        case .diskFull:
            self.init(
                status: .ioError,
                message: "The disk holding the profile is full, so nothing was changed; free some space and run the command again.")
        case .database:
            self.init(status: .ioError, message: error.description.sentence)
        case .corrupt, .unknownPersona, .unknownProton, .personaMismatch, .protonMismatch, .duplicateRelationship:
            self.init(status: .dataError, message: error.description.sentence)
        }
    }

    /// Prints the sentence on stderr and exits with the status.
    func exit() -> Never {
        let line = "proton: " + TerminalText.neutralised(message.replacingOccurrences(of: "\n", with: " ")) + "\n"
        FileHandle.standardError.write(Data(line.utf8))
        Foundation.exit(status.rawValue)
    }
}

extension String {
    /// Capitalised and ending in a full stop: how every error reads.
    var sentence: String {
        var text = trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = text.first else { return text }
        text = first.uppercased() + text.dropFirst()
        if let last = text.last, !".!?".contains(last) { text += "." }
        return text
    }
}
