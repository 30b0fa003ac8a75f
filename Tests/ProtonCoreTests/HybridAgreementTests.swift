import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// PQXDH's key derivation (revision 3, section 3.3): the KEM secret enters after the DH
/// outputs, under labels of its own, and the relationship's key then needs it.
struct HybridAgreementTests {
    let random = DeterministicRandom(seed: "pqxdh")

    struct Start {
        let alice: Ed25519.PrivateKey
        let bob: Ed25519.PrivateKey
        let signedPrekey: X25519.PrivateKey
        let oneTime: X25519.PrivateKey?
        let ephemeral: X25519.PrivateKey
        var bundle: PrekeyBundle {
            PrekeyBundle(identityKey: bob.publicKey, signedPrekey: signedPrekey.publicKey, oneTimePrekey: oneTime?.publicKey)
        }

        init(random: some RandomSource, oneTime: Bool) {
            alice = Ed25519.PrivateKey(using: random)
            bob = Ed25519.PrivateKey(using: random)
            signedPrekey = X25519.PrivateKey(using: random)
            self.oneTime = oneTime ? X25519.PrivateKey(using: random) : nil
            ephemeral = X25519.PrivateKey(using: random)
        }

        /// What the responder derives, or anyone holding every X25519 private key.
        func respond(kemSecret: SecureBytes?, context: AgreementContext = .keyPackage) throws -> SecureBytes {
            try KeyAgreement.respond(
                identity: bob, signedPrekey: signedPrekey, oneTimePrekey: oneTime, peerIdentity: alice.publicKey,
                peerEphemeral: ephemeral.publicKey, kemSecret: kemSecret, context: context)
        }
    }

    @Test(arguments: [true, false])
    func bothSidesDeriveTheSameKeyWithTheKEMSecret(oneTime: Bool) throws {
        let start = Start(random: random, oneTime: oneTime)
        let kem = MLKEM.PrivateKey(using: random)
        let sent = kem.publicKey.encapsulate()
        for context in [AgreementContext.invite, .keyPackage, .interactive(transcriptHash: [7, 7])] {
            let initiator = try KeyAgreement.initiate(
                identity: start.alice, bundle: start.bundle, ephemeral: start.ephemeral, kemSecret: sent.sharedSecret, context: context)
            #expect(initiator.isEqual(to: try start.respond(kemSecret: try kem.decapsulate(sent.ciphertext), context: context)))
            let classical = try KeyAgreement.initiate(identity: start.alice, bundle: start.bundle, ephemeral: start.ephemeral, context: context)
            #expect(!initiator.isEqual(to: classical))
        }
    }

    /// X25519 broken: whoever holds every X25519 private key of a start (both identities', the
    /// prekeys', the ephemeral) derives a classical start's key, but not a hybrid one's: the
    /// recorded ciphertext opens only with the ML-KEM key.
    @Test func withEveryX25519KeyDisclosedOnlyTheClassicalKeyIsDerived() throws {
        let start = Start(random: random, oneTime: true)
        let classical = try KeyAgreement.initiate(identity: start.alice, bundle: start.bundle, ephemeral: start.ephemeral, context: .keyPackage)
        #expect(classical.isEqual(to: try start.respond(kemSecret: nil)))

        let kem = MLKEM.PrivateKey(using: random)
        let sent = kem.publicKey.encapsulate()
        let hybrid = try KeyAgreement.initiate(
            identity: start.alice, bundle: start.bundle, ephemeral: start.ephemeral, kemSecret: sent.sharedSecret, context: .keyPackage)
        #expect(!hybrid.isEqual(to: try start.respond(kemSecret: nil)), "no KEM secret")
        #expect(!hybrid.isEqual(to: try start.respond(kemSecret: try MLKEM.PrivateKey().decapsulate(sent.ciphertext))), "another KEM key")
        #expect(!hybrid.isEqual(to: try start.respond(kemSecret: SecureBytes(Array(repeating: 0, count: 32)))), "a guessed secret")
    }

    /// With 32-byte parts, a classical start with a one-time prekey and a hybrid start without
    /// one feed the KDF inputs of one length: the labels keep them apart.
    @Test func aHybridStartIsNeverTakenForAClassicalOne() throws {
        let start = Start(random: random, oneTime: false)
        let secret = SecureBytes(Array(repeating: 9, count: 32))
        let hybrid = try KeyAgreement.initiate(
            identity: start.alice, bundle: start.bundle, ephemeral: start.ephemeral, kemSecret: secret, context: .invite)
        #expect(AgreementContext.invite.info(hybrid: true) == Array("Proton PQXDH ML-KEM-768 invite".utf8))
        #expect(AgreementContext.invite.info(hybrid: false) == Array("Proton X3DH invite".utf8))
        let ikm = SecureBytes(
            prefix: [UInt8](repeating: 0xff, count: 32),
            concatenating: [
                try start.alice.agreementKey().sharedSecret(with: start.signedPrekey.publicKey),
                try start.ephemeral.sharedSecret(with: try start.bob.publicKey.agreementKey()),
                try start.ephemeral.sharedSecret(with: start.signedPrekey.publicKey), secret,
            ])
        let asClassical = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: Array("Proton X3DH invite".utf8), outputByteCount: 32)
        let asHybrid = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: Array("Proton PQXDH ML-KEM-768 invite".utf8), outputByteCount: 32)
        #expect(hybrid.isEqual(to: asHybrid), "SK = KDF(F || DH1 || DH2 || DH3 || SS) under the hybrid label")
        #expect(!hybrid.isEqual(to: asClassical))
    }
}
