import Foundation

/// Why an invite (or an offline reply to one) was refused. Each case reads as one sentence.
public enum InviteError: Error, Equatable, Sendable {
    /// The invite's expiry has passed.
    case expired(Date)
    /// Our invite has started a relationship already; invites are single-use.
    case alreadyUsed(Date)
    /// We accepted this invite already.
    case alreadyAccepted(Date)
    /// The invite is one of our own personas'.
    case ownInvite
    /// No invite of ours matches (an offline reply to an invite this profile did not print).
    case unknownInvite
    /// The prekey stored with an invite is not the invite's.
    case prekeyMismatch
    /// No spare address is registered at any of our receiving services for an offline exchange.
    case noSpareAddress
}

extension InviteError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .expired(let date):
            "the invite expired at \(Self.format(date)); ask for a fresh one"
        case .alreadyUsed(let date):
            "the invite was already used at \(Self.format(date)); an invite starts one relationship only, so print a fresh one"
        case .alreadyAccepted(let date):
            "this invite is already used: you accepted it at \(Self.format(date)); ask for a fresh one to start another relationship"
        case .ownInvite:
            "this invite is one of your own personas'; it is for someone else to accept"
        case .unknownInvite:
            "this reply answers an invite this profile did not print (or one that was deleted)"
        case .prekeyMismatch:
            "the stored invite's prekey does not match the invite"
        case .noSpareAddress:
            "no spare address is registered at a receiving service: none was made while online"
        }
    }

    public var errorDescription: String? { description }

    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601.dateTimeSeparator(.space).timeZoneSeparator(.omitted)).replacingOccurrences(of: "Z", with: " UTC")
    }
}
