import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

struct KeyAgreementTests {
    let random = DeterministicRandom(seed: "x3dh")

    @Test(arguments: [true, false])
    func bothSidesDeriveTheSameSecret(withOneTimePrekey: Bool) throws {
        let alice = Ed25519.PrivateKey(using: random)
        let bob = Ed25519.PrivateKey(using: random)
        let signedPrekey = X25519.PrivateKey(using: random)
        let oneTime = withOneTimePrekey ? X25519.PrivateKey(using: random) : nil
        let ephemeral = X25519.PrivateKey(using: random)
        let bundle = PrekeyBundle(identityKey: bob.publicKey, signedPrekey: signedPrekey.publicKey, oneTimePrekey: oneTime?.publicKey)
        for context in [AgreementContext.invite, .keyPackage, .interactive(transcriptHash: [1, 2, 3])] {
            let initiator = try KeyAgreement.initiate(identity: alice, bundle: bundle, ephemeral: ephemeral, context: context)
            let responder = try KeyAgreement.respond(
                identity: bob, signedPrekey: signedPrekey, oneTimePrekey: oneTime, peerIdentity: alice.publicKey,
                peerEphemeral: ephemeral.publicKey, context: context)
            #expect(initiator.count == 32)
            #expect(initiator.isEqual(to: responder))
        }
        let asInvite = try KeyAgreement.initiate(identity: alice, bundle: bundle, ephemeral: ephemeral, context: .invite)
        let asPackage = try KeyAgreement.initiate(identity: alice, bundle: bundle, ephemeral: ephemeral, context: .keyPackage)
        #expect(!asInvite.isEqual(to: asPackage))
    }

    @Test func theOneTimePrekeyChangesTheSecret() throws {
        let alice = Ed25519.PrivateKey(using: random)
        let bob = Ed25519.PrivateKey(using: random)
        let signedPrekey = X25519.PrivateKey(using: random)
        let ephemeral = X25519.PrivateKey(using: random)
        let without = PrekeyBundle(identityKey: bob.publicKey, signedPrekey: signedPrekey.publicKey, oneTimePrekey: nil)
        let with = PrekeyBundle(
            identityKey: bob.publicKey, signedPrekey: signedPrekey.publicKey, oneTimePrekey: X25519.PrivateKey(using: random).publicKey)
        let a = try KeyAgreement.initiate(identity: alice, bundle: without, ephemeral: ephemeral, context: .invite)
        let b = try KeyAgreement.initiate(identity: alice, bundle: with, ephemeral: ephemeral, context: .invite)
        #expect(!a.isEqual(to: b))
    }

    @Test func refusesALowOrderPrekey() throws {
        let alice = Ed25519.PrivateKey(using: random)
        let bob = Ed25519.PrivateKey(using: random)
        let zero = try X25519.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 32))
        let bundle = PrekeyBundle(identityKey: bob.publicKey, signedPrekey: zero, oneTimePrekey: nil)
        #expect(throws: KeyAgreement.Error.invalidKey) {
            try KeyAgreement.initiate(identity: alice, bundle: bundle, ephemeral: X25519.PrivateKey(using: random), context: .invite)
        }
    }

    @Test func associatedDataIsLabelThenInitiatorThenResponder() {
        let alice = Ed25519.PrivateKey(using: random).publicKey
        let bob = Ed25519.PrivateKey(using: random).publicKey
        let ad = KeyAgreement.associatedData(initiator: alice, responder: bob)
        #expect(ad == Array("Proton".utf8) + alice.rawRepresentation + bob.rawRepresentation)
    }
}
