import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// Completes relationships started from a key package we published at a brokered directory.
/// Its first-contact address is shared by everyone who fetched the package, so a message there
/// is either an initial message (a new relationship: X3DH with the signed prekey and, when it
/// names one, a one-time prekey that is then erased — all in one transaction with the new proton
/// and its first message) or a later message of a relationship the package started, sent before
/// the peer learnt that relationship's own address: it is offered to those relationships in turn.
enum KeyPackageContact {
    /// How long after a package's expiry its address is still polled (as for invites).
    static let lateArrivalWindow = FirstContact.lateArrivalWindow
    /// At most this many relationships are tried for a message that is not an initial message;
    /// each stops accepting the shared address once the peer uses its own.
    static let maximumTrials = 256

    private struct Refusal: Error {
        let reason: String
    }

    static func record(
        _ message: ServiceAPI.StoredMessage, keyPackageID: KeyPackageID, at address: AddressID, owners: [ProtonID],
        store: ProfileStore, position: ReceivePosition, now: Date, random: some RandomSource,
        openExisting: (ProtonID) throws -> ReceiveAgent.Outcome
    ) throws -> ReceiveAgent.Outcome {
        guard let bytes = try? Base64URL.decode(message.ciphertext, limit: ServiceAPI.maximumCiphertextByteCount) else {
            return .keyPackageRefused("the service returned a ciphertext that is not base64url")
        }
        guard let initial = try? InitialMessage(decoding: bytes) else {
            for protonID in owners.prefix(maximumTrials) {
                let outcome = try openExisting(protonID)
                switch outcome {
                case .undecryptable, .retired, .inviteRefused, .keyPackageRefused: continue
                default: return outcome
                }
            }
            return .keyPackageRefused("it is neither an initial message nor a message of a relationship this key package started")
        }
        let arrived = Date(timeIntervalSince1970: TimeInterval(message.receivedAt))
        do {
            return try store.transaction(advancing: position) { tx throws -> ReceiveAgent.Outcome in
                guard let published = try tx.publishedKeyPackage(at: address), published.id == keyPackageID else {
                    throw Refusal(reason: KeyPackageError.unknownKeyPackage.description)
                }
                if let problem = FirstContact.timeProblem(
                    arrived: arrived, now: now, created: published.created, expires: published.expires,
                    expired: KeyPackageError.expired(published.expires).description, thing: "key package")
                {
                    throw Refusal(reason: problem)
                }
                let prekeys: (signed: X25519.PrivateKey, oneTime: X25519.PrivateKey?, kem: [MLKEM.PrivateKey])
                do {
                    prekeys = try tx.keyPackagePrekeys(published.id, signed: initial.signedPrekey, oneTime: initial.oneTimePrekey)
                } catch let error as KeyPackageError {
                    throw Refusal(reason: error.description)
                }
                if prekeys.kem.isEmpty, try tx.hybridKeyPackagePublished(for: published.name, after: published.created) {
                    throw Refusal(
                        reason: "it starts from a classical key package that a post-quantum one has replaced (a directory still serving the old one would downgrade the start)")
                }
                // The package's address stays shared: the proton accepts it (without ever
                // retiring it at the service) until the peer acknowledges our own address.
                let started = try ResponderStart.record(
                    in: tx, personaID: published.personaID, initial: initial, signedPrekey: prekeys.signed, oneTimePrekey: prekeys.oneTime,
                    kemPrekeys: prekeys.kem, context: .keyPackage, firstContactRoute: published.route, now: now, random: random)
                if let oneTime = initial.oneTimePrekey { try tx.consumeOneTimePrekey(oneTime, protonID: started.protonID, now: now) }
                return .connected(
                    started.protonID, started.messageID, started.body, peerName: started.proton.peerDisplayName, name: published.name)
            }
        } catch let refusal as Refusal {
            return .keyPackageRefused(refusal.reason)
        } catch let refusal as ResponderStart.Refusal {
            return .keyPackageRefused(refusal.reason)
        }
    }
}
