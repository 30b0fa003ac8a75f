import Foundation
import ProtonCore
import ProtonStore

/// What the receive agent did in one round, for the caller to show.
public enum ReceiveEvent: Sendable, Equatable {
    /// A message was decrypted and recorded (then acknowledged to the service).
    case received(protonID: ProtonID, messageID: Int64, body: [UInt8], address: AddressID, at: Date)
    /// A message delivered again after it was recorded: dropped and acknowledged.
    case duplicateDropped(protonID: ProtonID, address: AddressID)
    /// A second, different message at a ratchet position already used: this contact's device
    /// sent from an old copy of its state (a restored backup, snapshot or copied profile). It
    /// cannot be read; the contact is told on our next message.
    case peerSentFromStaleState(protonID: ProtonID, address: AddressID, at: Date)
    /// This contact says messages of ours arrived from an old copy of this profile's state:
    /// some of what we sent since that copy was made may not have been read.
    case ourStaleStateReported(protonID: ProtonID, at: Date)
    /// A message from this contact arrived after later ones were already shown (their hold-back
    /// had ended): shown now, out of its place.
    case arrivedLate(protonID: ProtonID, sequence: UInt64)
    /// Earlier messages from this contact never arrived within the hold-back: the later ones,
    /// from `before` on, are shown without them.
    case stoppedWaiting(protonID: ProtonID, before: UInt64)
    /// A message came to an address this relationship has retired (or blocked): dropped.
    case retiredAddress(protonID: ProtonID, address: AddressID)
    /// A message that does not decrypt: dropped, since it never will.
    case undecryptable(protonID: ProtonID, address: AddressID, reason: String)
    /// The service says this address of ours is retired already.
    case addressGone(protonID: ProtonID, address: AddressID)
    /// One of our addresses lives at a service that is not configured.
    case unknownService(protonID: ProtonID, serviceURI: String)
    /// A service could not be reached or refused; the next round tries again.
    case serviceFailed(serviceURI: String, error: RelayError)
    /// A relationship's stored state could not be read: nothing of it is fetched or sent until
    /// it is, and every round says so.
    case relationshipDamaged(protonID: ProtonID, reason: String)
    /// The profile could not record a message; it stays at the service for the next round.
    case storeFailed(reason: String)
    /// An address whose grace period ended was retired at its service.
    case addressRetiredAtService(protonID: ProtonID, address: AddressID)
    /// Someone accepted one of our invites: a new relationship, whose first message follows
    /// as `.received`.
    case relationshipStarted(protonID: ProtonID, peerName: String?, address: AddressID, at: Date)
    /// An initial message to one of our invites was refused (expired, already used, not
    /// for this invite, or altered): dropped, nothing stored.
    case inviteRefused(address: AddressID, reason: String)
    /// Someone started a relationship from the key package we published for `name` at a
    /// brokered directory; their first message follows as `.received`.
    case connected(protonID: ProtonID, peerName: String?, name: String, address: AddressID, at: Date)
    /// A message to one of our key packages' addresses was refused (an expired package, a used
    /// one-time prekey, not for this package, or altered): dropped, nothing stored.
    case keyPackageRefused(address: AddressID, reason: String)
    /// A checkpoint this contact gossiped and the one this profile holds are two trees of one
    /// size signed by the same directory: it shows different people different logs. Both are
    /// kept as evidence.
    case directoryForked(protonID: ProtonID, directory: String, summary: String)
}

extension ReceiveEvent: CustomStringConvertible {
    public var description: String {
        switch self {
        case .received(_, _, let body, let address, _):
            "received \(body.count) bytes at \(address.hex.prefix(8))…"
        case .duplicateDropped(_, let address):
            "dropped a message delivered twice to \(address.hex.prefix(8))…"
        case .peerSentFromStaleState(_, let address, _):
            "this contact's device sent from an old copy of its state: a message at \(address.hex.prefix(8))… reused a position already used, and cannot be read"
        case .ourStaleStateReported:
            "this contact says this profile sent from an old copy of its state (restored from a backup or a copy?): messages sent since that copy was made may not have been read"
        case .arrivedLate(_, let sequence):
            "message \(sequence) from this contact arrived late, after later ones were shown"
        case .stoppedWaiting(_, let before):
            "stopped waiting for earlier messages from this contact: some before its message \(before) never arrived"
        case .retiredAddress(_, let address):
            "dropped a message to the retired address \(address.hex.prefix(8))…"
        case .undecryptable(_, let address, let reason):
            "dropped a message to \(address.hex.prefix(8))… that does not decrypt (\(reason)); this profile may have been restored from an old copy"
        case .addressGone(_, let address):
            "the receiving service has retired the address \(address.hex.prefix(8))… already"
        case .unknownService(_, let uri):
            "an address of ours is at \(uri), which is not among our receiving services"
        case .serviceFailed(let uri, let error):
            "\(uri): \(error)"
        case .relationshipDamaged(let protonID, let reason):
            "the stored state of relationship \(protonID.rawValue.prefix(8)) could not be read, so it is neither fetched nor sent to: \(reason)"
        case .storeFailed(let reason):
            "the profile could not record a message, which stays at the service: \(reason)"
        case .addressRetiredAtService(_, let address):
            "retired the address \(address.hex.prefix(8))… at its receiving service"
        case .relationshipStarted(_, let name, let address, _):
            "\(name ?? "someone") accepted the invite at \(address.hex.prefix(8))…: a new relationship"
        case .inviteRefused(let address, let reason):
            "refused a first message to the invite at \(address.hex.prefix(8))…: \(reason)"
        case .connected(_, let peerName, let name, let address, _):
            "\(peerName ?? "someone") connected to \(name) through the key package at \(address.hex.prefix(8))…: a new relationship"
        case .keyPackageRefused(let address, let reason):
            "refused a message to the key package at \(address.hex.prefix(8))…: \(reason)"
        case .directoryForked(_, let directory, let summary):
            "DIRECTORY MISBEHAVIOUR at \(directory): \(summary) (gossiped by this contact); both checkpoints are kept as evidence ('proton directory list')"
        }
    }
}
