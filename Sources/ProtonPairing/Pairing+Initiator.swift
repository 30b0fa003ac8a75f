import Foundation
import ProtonCore
import ProtonCrypto

extension Pairing {
    /// The side that connected: commits to its nonce, starts the Noise handshake, runs X3DH
    /// against the responder's key package, and sends the initial message.
    public func initiate(
        over channel: some PairingChannel, now: Date = Date(), random: any RandomSource = SystemRandom(),
        confirm: Confirm
    ) async throws(PairingError) -> PairingResult {
        try validate()
        return try await abortingOnFailure(channel) { () async throws(PairingError) -> PairingResult in
            let nonce = random.bytes(PairingCommitment.nonceByteCount)
            let commitment = PairingCommitment(nonce: nonce)
            try await channel.send(PairingFrame(.commitment, payload: commitment.digest))

            var handshake = HandshakeState(
                role: .initiator, prologue: commitment.digest, staticKey: persona.identityKey.agreementKey(),
                random: random)
            try await channel.send(PairingFrame(.handshake1, payload: handshake.writeMessage()))
            try Self.emptyHandshakePayload(handshake.readMessage(await channel.receive(.handshake2)))
            try await channel.send(PairingFrame(.handshake3, payload: handshake.writeMessage()))
            let (hash, sending, receiving) = handshake.finish()
            let peerStatic = handshake.remoteStaticKey!
            var secure = SecureChannel(channel: channel, sending: sending, receiving: receiving)

            // The responder's nonce arrives before ours leaves: see PairingCommitment.
            let peerNonce = try Self.nonce(await secure.receive(.responderNonce))
            try await secure.send(.initiatorNonce, revealedNonceOverride ?? nonce)
            let sas = ShortAuthenticationString.derive(handshakeHash: hash, initiatorNonce: nonce, responderNonce: peerNonce)
            try await confirmBoth(sas, confirm, &secure)

            var reader = PairingPayloadReader(try await secure.receive(.responderKeys))
            let peerPackage = try Self.peerKeyPackage(
                reader.medium("key package", limit: KeyPackage.maximumByteCount), handshakeIdentity: peerStatic)
            let peerAttestation = try reader.optionalMedium("attestation", limit: Self.maximumAttestationByteCount)
            try reader.finish()

            var (proton, initial) = try Self.relationship { () throws(Proton.Error) in
                try Proton.initiate(
                    persona: persona, peerKeyPackage: peerPackage, transcriptHash: hash, ourRoutes: routes,
                    policy: policy, requireHybrid: true, replaying: peerPackage.kemKeyForStart.flatMap { key in encapsulation?(key) },
                    now: now, random: random)
            }
            let (ourPackage, _, _, _) = makeKeyPackage(now: now, random: random)
            var writer = PairingPayloadWriter()
            writer.medium(ourPackage.encoded())
            writer.optionalMedium(attestation)
            writer.medium(initial.encoded())
            try await secure.send(.initiatorKeys, writer.bytes)

            // The responder's first ratchet message carries its name and routes; opening it at
            // our route also proves both ratchets agree before either side reports success.
            let reply = try await secure.receive(.responderFinish)
            let opened = try Self.relationship { () throws(Proton.Error) in
                try proton.open(reply, at: routes[0].address, now: now, random: random)
            }
            // Shown as part of the pairing: the responder's next message is the next in order.
            proton.markPresented(through: opened.sequence)
            try await secure.send(.initiatorFinish, [])

            return PairingResult(
                proton: proton, peerIdentity: peerPackage.identityKey, sas: sas, peerKeyPackage: peerPackage,
                peerAttestation: peerAttestation, handshakeHash: hash)
        }
    }
}
