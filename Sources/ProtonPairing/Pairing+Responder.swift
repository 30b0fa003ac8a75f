import Foundation
import ProtonCore
import ProtonCrypto

extension Pairing {
    /// The side that listened: answers the handshake, checks the initiator's commitment, vends
    /// a key package with fresh prekeys, and completes X3DH from the initial message.
    public func respond(
        over channel: some PairingChannel, now: Date = Date(), random: any RandomSource = SystemRandom(),
        confirm: Confirm
    ) async throws(PairingError) -> PairingResult {
        try validate()
        return try await abortingOnFailure(channel) { () async throws(PairingError) -> PairingResult in
            let commitment = try PairingCommitment(digest: await channel.receive(.commitment))

            var handshake = HandshakeState(
                role: .responder, prologue: commitment.digest, staticKey: persona.identityKey.agreementKey(),
                random: random, encapsulation: encapsulation)
            try Self.emptyHandshakePayload(handshake.readMessage(await channel.receive(.handshake1)))
            try await channel.send(PairingFrame(.handshake2, payload: handshake.writeMessage()))
            try Self.emptyHandshakePayload(handshake.readMessage(await channel.receive(.handshake3)))
            let (hash, sending, receiving) = handshake.finish()
            let peerStatic = handshake.remoteStaticKey!
            var secure = SecureChannel(channel: channel, sending: sending, receiving: receiving)

            let nonce = random.bytes(PairingCommitment.nonceByteCount)
            try await secure.send(.responderNonce, nonce)
            let peerNonce = try Self.nonce(await secure.receive(.initiatorNonce))
            guard commitment.isOpened(by: peerNonce) else { throw .commitmentMismatch }
            let sas = ShortAuthenticationString.derive(handshakeHash: hash, initiatorNonce: peerNonce, responderNonce: nonce)
            try await confirmBoth(sas, confirm, &secure)

            let (ourPackage, signedPrekey, oneTimePrekey, kemPrekeys) = makeKeyPackage(now: now, random: random)
            var writer = PairingPayloadWriter()
            writer.medium(ourPackage.encoded())
            writer.optionalMedium(attestation)
            try await secure.send(.responderKeys, writer.bytes)

            var reader = PairingPayloadReader(try await secure.receive(.initiatorKeys))
            let peerPackage = try Self.peerKeyPackage(
                reader.medium("key package", limit: KeyPackage.maximumByteCount), handshakeIdentity: peerStatic)
            let peerAttestation = try reader.optionalMedium("attestation", limit: Self.maximumAttestationByteCount)
            let initialBytes = try reader.medium("initial message", limit: Int(UInt16.max))
            try reader.finish()
            let initial: InitialMessage
            do { initial = try InitialMessage(decoding: initialBytes) } catch { throw .malformed("initial message: \(error)") }

            var (proton, _) = try Self.relationship { () throws(Proton.Error) in
                try Proton.respond(
                    persona: persona, initialMessage: initial, signedPrekey: signedPrekey, oneTimePrekey: oneTimePrekey,
                    kemPrekeys: kemPrekeys, context: .interactive(transcriptHash: hash), firstContactRoute: nil, ourRoutes: routes,
                    policy: policy, now: now, random: random)
            }
            // The initial message names its sender too; it must be the one the handshake proved.
            guard proton.peerIdentity == peerPackage.identityKey else { throw .identityMismatch }

            let reply = try Self.relationship { () throws(Proton.Error) in try proton.seal([], now: now, random: random) }
            try await secure.send(.responderFinish, reply.ciphertext)
            guard try await secure.receive(.initiatorFinish).isEmpty else { throw .malformed("finish carries no data") }

            return PairingResult(
                proton: proton, peerIdentity: peerPackage.identityKey, sas: sas, peerKeyPackage: peerPackage,
                peerAttestation: peerAttestation, handshakeHash: hash)
        }
    }
}
