import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// The responder's half of a start, inside the transaction that stores it — for an invite's
/// initial message (`FirstContact`, `proton accept --reply`) and a key package's
/// (`KeyPackageContact`): X3DH and the first message (`Proton.respond`), a spare address of
/// ours for the peer when one is registered, the new proton and its first message. A message
/// that does not decrypt, that comes from our own persona, or from a persona we already have a
/// relationship with is refused with a `Refusal`, and the caller's transaction stores nothing.
public enum ResponderStart {
    public struct Refusal: Error, Sendable {
        public enum Kind: Sendable { case undecryptable, ownPersona, existingRelationship }
        public let kind: Kind
        public let reason: String
    }

    public struct Started: Sendable {
        public let protonID: ProtonID
        public let messageID: Int64
        public let proton: Proton
        public let body: [UInt8]
    }

    /// `kemPrekeys`: a hybrid key package's ML-KEM keys (PQXDH); a start without its KEM part is
    /// then refused.
    public static func record(
        in tx: StoreTransaction, personaID: PersonaID, initial: InitialMessage, signedPrekey: X25519.PrivateKey,
        oneTimePrekey: X25519.PrivateKey?, kemPrekeys: [MLKEM.PrivateKey] = [], context: AgreementContext, firstContactRoute: OwnRoute,
        now: Date, random: some RandomSource
    ) throws -> Started {
        let persona = try tx.persona(personaID)
        let fresh = try tx.takeSpareAddress(now: now)
        let started: (proton: Proton, message: Proton.ReceivedMessage)
        do {
            started = try Proton.respond(
                persona: persona, initialMessage: initial, signedPrekey: signedPrekey, oneTimePrekey: oneTimePrekey, kemPrekeys: kemPrekeys,
                context: context,
                firstContactRoute: firstContactRoute, ourRoutes: fresh.map { [$0] } ?? [], now: now, random: random)
        } catch {
            throw Refusal(kind: .undecryptable, reason: "it does not decrypt (\(error))")
        }
        if started.proton.peerIdentity == persona.publicIdentity {
            throw Refusal(kind: .ownPersona, reason: "it comes from this very persona")
        }
        let protonID: ProtonID
        do {
            protonID = try tx.insertProton(started.proton, personaID: personaID, now: now)
        } catch StoreError.duplicateRelationship(let relationshipID) {
            // A replayed initial message, or a second start by someone we already know.
            throw Refusal(
                kind: .existingRelationship, reason: "this persona already has a relationship (\(relationshipID)) with the sender's")
        }
        let messageID = try tx.appendMessage(
            protonID: protonID, direction: .incoming, body: started.message.body, address: firstContactRoute.address.hex, timestamp: now)
        return Started(protonID: protonID, messageID: messageID, proton: started.proton, body: started.message.body)
    }
}
