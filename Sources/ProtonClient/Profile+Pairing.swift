import Foundation
import Synchronization
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonPairing
import ProtonStore

extension Profile {
    /// Which side of a pairing this profile takes (docs/pairing.md): the one that waited for
    /// the other device answers the handshake; the one that connected starts it.
    public enum PairingRole: String, Sendable, Encodable {
        case listener
        case initiator
    }

    /// A pairing made ready before any device is reached, so that a missing service or a
    /// wrong attestation is told before anyone waits: the persona's keys, the attestation it
    /// presents and a fresh address for the peer at one of our receiving services. Used by
    /// one `pair`; `cancelPairing` retires the address when no pairing follows.
    public final class PreparedPairing: Sendable {
        public let persona: StoredPersona
        public let attestation: AttestationBundle?
        let pairing: Pairing
        let route: OwnRoute
        /// Set once by the first `pair` or `cancelPairing`: its address is given to one peer
        /// at most, and never retired under a relationship that uses it.
        private let used = Mutex(false)

        init(persona: StoredPersona, attestation: AttestationBundle?, pairing: Pairing, route: OwnRoute) {
            self.persona = persona
            self.attestation = attestation
            self.pairing = pairing
            self.route = route
        }

        /// True the first time only.
        func take() -> Bool { used.withLock { used in defer { used = true }; return !used } }
    }

    /// A relationship a pairing made, stored.
    public struct Paired: Sendable {
        public let proton: Proton
        public let protonID: ProtonID
        public let persona: StoredPersona
        public let peerIdentity: Ed25519.PublicKey
        /// The six digits both people compared.
        public let sas: String
        /// Whether the peer's attestation of their name verified here, and if not, why.
        public let peerAttestation: PresentedAttestationCheck
    }

    /// Readies a pairing as `persona`, presenting `attestation` (see `attestationToPresent`),
    /// with `confirmationTimeout` for the people to compare the digits.
    public func preparePairing(
        as persona: StoredPersona, presenting attestation: AttestationBundle?, confirmationTimeout: Duration = .seconds(300)
    ) async throws(ProfileError) -> PreparedPairing {
        try checkOpen()
        guard try !storedServices().receiving.isEmpty else { throw .agent(.noReceivingService) }
        if let attestation, attestation.encoded().count > Pairing.maximumAttestationByteCount {
            throw .attestationTooLarge(
                name: attestation.attestation.qualifiedName, bytes: attestation.encoded().count, maximum: Pairing.maximumAttestationByteCount)
        }
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        let issuer = try issuer()
        let route = try await ProfileError.classifying { try await issuer.createRoute(after: nil, now: Date()) }
        var pairing = Pairing(persona: keys, routes: [route], attestation: attestation?.encoded())
        pairing.confirmationTimeout = confirmationTimeout
        return PreparedPairing(persona: persona, attestation: attestation, pairing: pairing, route: route)
    }

    /// Runs the pairing handshake over `channel` and, once both people confirmed the digits,
    /// stores the relationship and checks the peer's attestation. When it does not end in a
    /// stored relationship, the prepared address is retired again.
    public func pair(
        _ prepared: PreparedPairing, over channel: some PairingChannel, role: PairingRole, confirm: @escaping Pairing.Confirm
    ) async throws(ProfileError) -> Paired {
        guard prepared.take() else { throw .pairingAlreadyUsed }
        do throws(ProfileError) {
            try checkOpen()
            let result: PairingResult
            do throws(PairingError) {
                switch role {
                case .listener: result = try await prepared.pairing.respond(over: channel, now: Date(), random: SystemRandom(), confirm: confirm)
                case .initiator: result = try await prepared.pairing.initiate(over: channel, now: Date(), random: SystemRandom(), confirm: confirm)
                }
            } catch { throw .pairing(error) }
            try checkOpen()
            let protonID = try ProfileError.classifying { try store.addProton(result.proton, personaID: prepared.persona.id) }
            let check = await checkPresentedAttestation(result.peerAttestation, by: result.peerIdentity)
            return Paired(
                proton: result.proton, protonID: protonID, persona: prepared.persona, peerIdentity: result.peerIdentity, sas: result.sas,
                peerAttestation: check)
        } catch {
            await retire(prepared.route)
            throw error
        }
    }

    /// Retires the address of a prepared pairing that did not happen, so that no unused
    /// mailbox is left at the service. Best effort: a service that cannot be reached keeps it
    /// until its messages expire.
    /// Does nothing once the prepared pairing was used by `pair`.
    public func cancelPairing(_ prepared: PreparedPairing) async {
        guard prepared.take() else { return }
        await retire(prepared.route)
    }

    private func retire(_ route: OwnRoute) async {
        guard let endpoint = try? receivingEndpoints().first(where: { $0.serviceURI == route.route.serviceURI }) else { return }
        try? await endpoint.mailbox.retire(route.ownedAddress)
    }
}
