import Foundation
import ProtonClient
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
    /// What to show before the sentence (a directory's misbehaviour, in several lines).
    var report: (@Sendable () -> Void)?

    init(status: ExitStatus, message: String) {
        self.status = status
        self.message = message
    }

    /// Maps any error a command can meet to one sentence and a status: the libraries' errors
    /// through `ProfileError`'s table below.
    init(_ error: any Error) {
        if let failure = error as? CommandFailure {
            self = failure
        } else {
            self.init(profile: ProfileError(error))
        }
    }

    /// Runs `body`, turning the libraries' errors into a `CommandFailure`.
    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw CommandFailure(error) }
    }

    static func mapping<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw CommandFailure(error) }
    }

    /// The one table from what the libraries say is wrong to what this tool tells a person
    /// (with what to do about it, in this tool's words) and its exit status.
    init(profile error: ProfileError) {
        switch error {
        case .store(let error):
            self.init(store: error)
        case .agent(let error):
            let status: ExitStatus =
                switch error {
                case .noSendingService, .noReceivingService, .noAddressCreated: .unavailable
                case .invalidServiceURI, .unknownService, .badProxy: .usage
                case .duplicateService: .cannotCreate
                case .invalidServiceKey: .dataError
                case .configuration: .ioError
                }
            let advice =
                switch error {
                case .noSendingService: "; add one with 'proton services add sending URI'"
                case .noReceivingService: "; add one with 'proton services add receiving URI'"
                default: ""
                }
            self.init(status: status, message: (error.description + advice).sentence)
        case .service(let error):
            self.init(status: .unavailable, message: error.description.sentence)
        case .invite(let error):
            // A damaged or forged invite is bad data (65); one that expired or was used is
            // refused by the protocol's rules (76).
            let status: ExitStatus =
                switch error {
                case .expired, .alreadyUsed, .alreadyAccepted: .refused
                case .ownInvite: .usage
                case .unknownInvite, .prekeyMismatch: .dataError
                case .noSpareAddress: .unavailable
                }
            let advice = error == .noSpareAddress ? "; run 'proton receive' once while online" : ""
            self.init(status: status, message: (error.description + advice).sentence)
        case .directory(let error):
            self.init(directory: error)
        case .relationship(let error):
            switch error {
            case .blocked:
                self.init(status: .dataError, message: "You have blocked this contact, so nothing is sent to them.")
            case .tooManyPendingUpdates:
                self.init(
                    status: .temporaryFailure,
                    message: "Too many address changes wait for this contact's acknowledgement; send a message and try again once they reply.")
            case .bodyTooLarge(let limit):
                self.init(status: .dataError, message: "The message is too long; at most \(limit) bytes fit in one message.")
            case .expired:
                self.init(status: .refused, message: "The invite has expired; ask for a fresh one.")
            case .classicalStartRefused:
                self.init(
                    status: .refused,
                    message: "Their key package has no ML-KEM keys, so the relationship would not start post-quantum; nothing was sent (without --require-post-quantum it starts classically).")
            default:
                self.init(status: .dataError, message: "The relationship refused the step: \(error).")
            }
        case .pairing(let error):
            self.init(pairing: error)
        case .attestationTooLarge:
            self.init(status: .dataError, message: error.description.sentence)
        case .pairingAlreadyUsed:
            self.init(status: .software, message: error.description.sentence)
        case .notAnInvite(_, isReply: true):
            self.init(status: .usage, message: "This is a reply to an invite, not an invite; read it with 'proton accept --reply'.")
        case .notAnInvite(let reason, isReply: false):
            self.init(status: .dataError, message: "This is not a valid invite: \(reason).")
        case .forgedInvite:
            self.init(status: .dataError, message: "The invite's signature does not verify: it was altered or forged, so nothing was stored.")
        case .notAReply(_, isInvite: true):
            self.init(status: .usage, message: "This is an invite, not a reply; accept it with 'proton accept' without --reply.")
        case .notAReply(let reason, isInvite: false):
            self.init(status: .dataError, message: "This is not a valid reply: \(reason).")
        case .undecryptableReply:
            self.init(status: .dataError, message: "The reply does not decrypt with your invite's keys: it was altered or forged; nothing was stored.")
        case .mismatchedReply(let reason):
            self.init(status: .dataError, message: "This reply cannot start a relationship: \(reason).")
        case .tooLargeForQRCode(let bytes, let version, let serviceURI?):
            self.init(
                status: .dataError,
                message: "The invite is \(bytes) bytes and needs a QR code larger than version \(version); "
                    + "a receiving service with a shorter URI than \(serviceURI) (\(serviceURI.utf8.count) bytes) keeps it small enough.")
        case .tooLargeForQRCode(let bytes, let version, nil):
            self.init(status: .dataError, message: "The reply is \(bytes) bytes and does not fit in a version \(version) QR code.")
        case .noPersona:
            self.init(status: .dataError, message: "This profile has no persona.")
        case .noSuchPersona(let query):
            self.init(status: .usage, message: "No persona is named \"\(query)\" or has an id starting with it; 'proton persona list' lists them.")
        case .ambiguousPersona(let query, let matches):
            self.init(status: .usage, message: "\"\(query)\" matches \(matches) personas; give more of the id.")
        case .noSuchContact(let query):
            self.init(
                status: .noUser,
                message: "No contact is named \"\(query)\" or has a relationship id starting with it; 'proton contacts' lists them.")
        case .ambiguousContact(let query, let ids):
            self.init(
                status: .usage,
                message: "\"\(query)\" matches \(ids.count) contacts (\(ids.joined(separator: ", "))); give more of the relationship id.")
        case .personaExists(let name):
            self.init(status: .dataError, message: "A persona named \"\(name)\" already exists in this profile.")
        case .unusableName(let error):
            let why =
                switch error {
                case .oversized(_, let limit, let actual):
                    "it is \(actual) bytes of UTF-8 and at most \(limit) fit (\(limit) Latin letters, fewer in most other scripts or with emoji)"
                case .invalidValue(_, let reason) where reason == "empty":
                    "it is empty"
                case .invalidValue(_, let reason):
                    "it \(reason)"
                default:
                    "\(error)"
                }
            self.init(status: .usage, message: "The persona name is not usable: \(why).")
        case .invalidData(let error):
            self.init(status: .dataError, message: "The data is invalid: \(error).")
        case .closed, .cancelled:
            self.init(status: .software, message: error.description.sentence)
        case .invalidExpiry:
            self.init(status: .usage, message: error.description.sentence)
        case .unexpected(let text):
            self.init(status: .software, message: "Unexpected internal error: \(text).")
        }
    }

    private init(directory error: DirectoryError) {
        let pin = "pin one with 'proton directory add URL --key KEY'"
        switch error {
        case .client(let failure):
            let status: ExitStatus =
                switch failure {
                case .unavailable: .unavailable
                case .refused(404, _, _): .noUser
                case .refused: .dataError
                case .invalidResponse: .directoryMisbehaved
                }
            self.init(status: status, message: failure.description.sentence)
        case .forked(let misbehaviour):
            self.init(status: .directoryMisbehaved, message: "The directory at \(misbehaviour.directory) misbehaved: \(misbehaviour.summary).")
            report = { misbehaviour.report() }
        case .misbehaved(_, let reason):
            self.init(status: .directoryMisbehaved, message: reason.sentence)
        case .missingQuorum:
            self.init(status: .directoryMisbehaved, message: error.description.sentence)
        case .keyMismatch(let url, let reported):
            self.init(status: .directoryMisbehaved, message: "\(url) reports the key \(reported), not the one you gave; nothing was pinned.")
        case .notPinned(let namespace):
            self.init(status: .usage, message: "No directory is pinned for \(namespace); \(pin).")
        case .nonePinned:
            self.init(status: .usage, message: "No directory is pinned; \(pin).")
        case .severalPinned:
            self.init(status: .usage, message: "Several directories are pinned; write the name as NAME@NAMESPACE.")
        case .alreadyPinned(let what):
            self.init(status: .usage, message: "\(what) is pinned already; 'proton directory list' shows it.".sentence)
        case .invalidQualifiedName, .invalidName, .invalidURL:
            self.init(status: .usage, message: error.description.sentence)
        case .invalidVerifierKey(let reason):
            self.init(status: .usage, message: "--key is not a C2SP verifier key (NAME+KEYID+BASE64): \(reason).")
        case .revoked:
            self.init(status: .noUser, message: error.description.sentence)
        case .attestationDoesNotVerify(let name, let persona, let reason):
            self.init(
                status: .dataError,
                message: "The stored attestation of \(name) does not verify (\(reason)); register the name again with 'proton directory register \(name) --persona \(persona)'.")
        case .noAttestation(let name, let persona, let alternatives):
            self.init(
                status: .usage,
                message: "No attestation of \(name) is stored for \(persona)'s key; register it with 'proton directory register \(name) --persona \(persona)'"
                    + (alternatives.isEmpty ? "." : " or choose one of \(alternatives.joined(separator: ", "))."))
        case .noOwnAttestation(let persona):
            self.init(status: .noInput, message: "No verified attestation of \(persona)'s key is stored; register a name first.")
        case .notRegisteredHere(let name):
            self.init(status: .usage, message: "\(name) was not registered from this profile ('proton directory register').")
        case .registeredNames(let count):
            self.init(
                status: .usage,
                message: count == 0
                    ? "No name was registered from this profile; register one with 'proton directory register NAME'."
                    : "Several names were registered from this profile; choose one with --name NAME@NAMESPACE.")
        case .registrantGone, .damaged:
            self.init(status: .dataError, message: error.description.sentence)
        case .ownName, .alreadyConnected:
            self.init(status: .usage, message: error.description.sentence)
        case .approvalPending(let name, let requestID):
            self.init(
                status: .temporaryFailure,
                message: "\(name) approves each contact: your request \(requestID) waits for them; run 'proton connect \(name)' again once they approve it.")
        case .cannotSave:
            self.init(status: .ioError, message: error.description.sentence)
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
        case .closed:
            self.init(status: .software, message: error.description.sentence)
        case .duplicateRelationship(let relationshipID):
            self.init(
                status: .dataError,
                message: "You already have a relationship (\(relationshipID)) between these two personas; 'proton show \(relationshipID)' shows it, and another persona can start a separate one.")
        case .corrupt, .unknownPersona, .unknownProton, .personaMismatch, .protonMismatch:
            self.init(status: .dataError, message: error.description.sentence)
        }
    }

    /// Prints the sentence on stderr and exits with the status.
    func exit() -> Never {
        report?()
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
