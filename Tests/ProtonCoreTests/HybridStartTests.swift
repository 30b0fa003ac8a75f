import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// Hybrid key packages (version 2) and the starts they make (PQXDH revision 3): the KEM key a
/// start encapsulates to, the initial message's KEM part, refusals of a stripped or altered
/// KEM part with nothing started, and the claim itself: with every X25519 private key
/// disclosed, a recorded hybrid start stays closed while a classical one opens.
struct HybridStartTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    struct Owner {
        let random: DeterministicRandom
        let persona: Persona
        let signedPrekey: X25519.PrivateKey
        let oneTime: X25519.PrivateKey
        let kemPrekey: MLKEM.PrivateKey
        let oneTimeKEM: MLKEM.PrivateKey
        let route: OwnRoute

        init(seed: String) throws {
            random = DeterministicRandom(seed: seed)
            persona = try Persona(displayName: "Blair", random: random)
            signedPrekey = X25519.PrivateKey(using: random)
            oneTime = X25519.PrivateKey(using: random)
            kemPrekey = MLKEM.PrivateKey(using: random)
            oneTimeKEM = MLKEM.PrivateKey(using: random)
            route = try RouteFactory(random: random).ownRoute(now: HybridStartTests.now)
        }

        func package(hybrid: Bool = true, oneTime withOneTime: Bool = true) throws -> KeyPackage {
            let expires = HybridStartTests.now.addingTimeInterval(86_400)
            guard hybrid else {
                return try KeyPackage(
                    identity: persona.identityKey, signedPrekey: signedPrekey.publicKey, oneTimePrekeys: withOneTime ? [oneTime.publicKey] : [],
                    route: route.route, expires: expires)
            }
            return try KeyPackage(
                identity: persona.identityKey, signedPrekey: signedPrekey.publicKey, kemPrekey: kemPrekey.publicKey,
                oneTimePrekeys: withOneTime ? [(oneTime.publicKey, oneTimeKEM.publicKey)] : [], route: route.route, expires: expires)
        }

        func respond(_ initial: InitialMessage, kemPrekeys: [MLKEM.PrivateKey]? = nil) throws(Proton.Error) -> (proton: Proton, message: Proton.ReceivedMessage) {
            try Proton.respond(
                persona: persona, initialMessage: initial, signedPrekey: signedPrekey,
                oneTimePrekey: initial.oneTimePrekey == nil ? nil : oneTime, kemPrekeys: kemPrekeys ?? [oneTimeKEM, kemPrekey],
                context: .keyPackage, firstContactRoute: route, ourRoutes: [], now: HybridStartTests.now, random: random)
        }
    }

    static func start(_ package: KeyPackage, seed: String = "initiator") throws -> (Persona, InitialMessage) {
        let random = DeterministicRandom(seed: seed)
        let alex = try Persona(displayName: "Alex", random: random)
        let route = try RouteFactory(random: random).ownRoute(now: now)
        let started = try Proton.initiate(
            persona: alex, keyPackage: try KeyPackage(decoding: package.encoded()), ourRoutes: [route], body: Array("hello Blair".utf8),
            now: now, random: random)
        return (alex, try InitialMessage(decoding: started.initialMessage.encoded()))
    }

    @Test func aHybridPackageRoundTripsAndItsSignaturesCoverTheKEMKeys() throws {
        let owner = try Owner(seed: "hybrid package")
        let package = try owner.package()
        let bytes = package.encoded()
        #expect(bytes[1] == 2)
        #expect(bytes.count == 1_320 + 1_280 + 1 + 32 + 16 + package.route!.serviceURI.utf8.count)
        #expect(try KeyPackage(decoding: bytes) == package)
        #expect(package.kemKeyForStart == owner.oneTimeKEM.publicKey, "the one-time KEM key first")
        #expect(package.withOneTimePrekeys([]).kemKeyForStart == owner.kemPrekey.publicKey, "then the last-resort one")
        // Every byte of the last-resort key is signed with the package, every byte of an entry
        // with the entry: a flipped bit is refused (or is no ML-KEM key at all).
        let kemStart = 2 + 32 + 32 + 4 + 1 + 1 + package.route!.serviceURI.utf8.count + 32 + 16
        let entryStart = kemStart + MLKEM.publicKeyByteCount + 64 + 1
        for offset in [kemStart, kemStart + 600, kemStart + 1_183, entryStart, entryStart + 32, entryStart + 32 + 1_183, entryStart + 1_216] {
            var altered = bytes
            altered[offset] ^= 0x04
            #expect(throws: WireError.self, "byte \(offset)") { try KeyPackage(decoding: altered) }
        }
        // An entry whose one-time prekey is replaced (re-paired with another) is refused.
        var swapped = bytes
        swapped.replaceSubrange(entryStart..<(entryStart + 32), with: X25519.PrivateKey().publicKey.rawRepresentation)
        #expect(throws: WireError.invalidValue(field: "one-time KEM prekey signature", reason: "does not verify: the entry was altered, re-paired or forged")) {
            try KeyPackage(decoding: swapped)
        }
        // A classical package still parses, as version 1.
        let classical = try owner.package(hybrid: false)
        #expect(classical.encoded()[1] == 1)
        #expect(try KeyPackage(decoding: classical.encoded()) == classical)
        #expect(!classical.isHybrid && classical.kemKeyForStart == nil)
    }

    @Test(arguments: [true, false])
    func aHybridStartReachesTheResponder(withOneTime: Bool) throws {
        let owner = try Owner(seed: "hybrid start \(withOneTime)")
        let (alex, initial) = try Self.start(try owner.package(oneTime: withOneTime))
        let part = try #require(initial.kem)
        #expect(part.ciphertext.count == MLKEM.ciphertextByteCount)
        #expect(part.keyID == SHA256.hash((withOneTime ? owner.oneTimeKEM : owner.kemPrekey).publicKey.rawRepresentation))
        #expect(initial.encoded()[1] == 2)
        let answered = try owner.respond(initial)
        #expect(answered.message.body == Array("hello Blair".utf8))
        #expect(answered.proton.peerIdentity == alex.publicIdentity)
    }

    @Test func aStrippedOrAlteredKEMPartIsRefusedWithNothingStarted() throws {
        let owner = try Owner(seed: "hybrid refusals")
        let (_, initial) = try Self.start(try owner.package())
        // Stripped: the same start as a classical message (version 1) to a hybrid package.
        let (_, classical) = try Self.start(try owner.package(hybrid: false))
        #expect(throws: Proton.Error.classicalStartRefused) { try owner.respond(classical) }
        // The KEM part to a responder without KEM keys: not this package's.
        #expect(throws: Proton.Error.prekeyMismatch) { try owner.respond(initial, kemPrekeys: []) }
        // A key id naming another key.
        #expect(throws: Proton.Error.prekeyMismatch) { try owner.respond(initial, kemPrekeys: [MLKEM.PrivateKey()]) }
        // A flipped bit of the key id names no key of the package; of the ciphertext, gives
        // another secret (implicit rejection), which fails at the sealed identity.
        let kemOffset = 2 + 1 + 32 + 32 + 32
        for offset in [kemOffset, kemOffset + 31] {
            var bytes = initial.encoded()
            bytes[offset] ^= 0x01
            let altered = try InitialMessage(decoding: bytes)
            #expect(throws: Proton.Error.prekeyMismatch, "byte \(offset)") { try owner.respond(altered) }
        }
        for offset in [kemOffset + 32, kemOffset + 32 + 500, kemOffset + 32 + 1_087] {
            var bytes = initial.encoded()
            bytes[offset] ^= 0x01
            let altered = try InitialMessage(decoding: bytes)
            #expect(throws: Proton.Error.ratchet(.authenticationFailure), "byte \(offset)") { try owner.respond(altered) }
        }
    }

    /// The KEM part and the first chain's offered key leave the first message the 16,384-byte
    /// bucket: the limit `bodyTooLarge` gives is exact.
    @Test func aHybridStartsBodyLimitIsExact() throws {
        let owner = try Owner(seed: "hybrid body limit")
        let package = try owner.package()
        func start(_ count: Int) throws(Proton.Error) -> InitialMessage {
            let random = DeterministicRandom(seed: "hybrid body limit initiator")
            let alex = try! Persona(displayName: "Alex", random: random)
            let route = try! RouteFactory(random: random).ownRoute(now: Self.now)
            return try Proton.initiate(
                persona: alex, keyPackage: package, ourRoutes: [route], body: Array(repeating: 1, count: count), now: Self.now, random: random
            ).initialMessage
        }
        var limit = 0
        do throws(Proton.Error) {
            _ = try start(20_000)
            Issue.record("a 20,000-byte body fits no hybrid first message")
        } catch {
            guard case .bodyTooLarge(let reported) = error else { throw error }
            limit = reported
        }
        #expect(limit > 14_000)
        #expect(try start(limit).ratchetMessage.count == DoubleRatchet.ciphertextByteCount(bucket: 16_384))
        #expect(throws: Proton.Error.bodyTooLarge(limit: limit)) { try start(limit + 1) }
    }

    @Test func aClassicalPackageIsRefusedWhenHybridIsRequired() throws {
        let owner = try Owner(seed: "hybrid required")
        let random = DeterministicRandom(seed: "requirer")
        let alex = try Persona(displayName: "Alex", random: random)
        let route = try RouteFactory(random: random).ownRoute(now: Self.now)
        #expect(throws: Proton.Error.classicalStartRefused) {
            try Proton.initiate(
                persona: alex, keyPackage: try owner.package(hybrid: false), ourRoutes: [route], requireHybrid: true, now: Self.now, random: random)
        }
        let hybrid = try Proton.initiate(
            persona: alex, keyPackage: try owner.package(), ourRoutes: [route], requireHybrid: true, now: Self.now, random: random)
        #expect(hybrid.initialMessage.kem != nil)
    }

    /// The claim: X25519 broken (every X25519 private key of the start disclosed: the
    /// responder's identity, signed and one-time prekeys; the initiator's identity and ephemeral
    /// too, which the recorder would compute). From the recorded initial message, a classical
    /// start's sender and first message are read; a hybrid start's are not.
    @Test func withEveryX25519KeyDisclosedOnlyTheClassicalStartIsRead() throws {
        let owner = try Owner(seed: "broken curve")
        /// What the recorder reads with every X25519 private key and `kemSecret` (nil: a
        /// classical derivation; otherwise the hybrid one with that secret).
        func read(_ initial: InitialMessage, from alex: Persona, kemSecret: SecureBytes?) -> (sender: Ed25519.PublicKey?, first: [UInt8]?) {
            let sender = try? initial.initiatorIdentity(using: owner.signedPrekey, kemSecret: kemSecret)
            guard
                let secret = try? KeyAgreement.respond(
                    identity: owner.persona.identityKey, signedPrekey: owner.signedPrekey, oneTimePrekey: owner.oneTime,
                    peerIdentity: alex.publicIdentity, peerEphemeral: initial.ephemeralKey, kemSecret: kemSecret, context: .keyPackage),
                let seed = try? RatchetSeed(sharedSecret: secret)
            else { return (sender, nil) }
            var ratchet = DoubleRatchet(responding: seed, ourRatchetKey: owner.signedPrekey)
            let associatedData = KeyAgreement.associatedData(initiator: alex.publicIdentity, responder: owner.persona.publicIdentity)
            return (sender, try? ratchet.decrypt(initial.ratchetMessage, associatedData: associatedData, now: Self.now, random: owner.random))
        }
        let (classicalSender, classical) = try Self.start(try owner.package(hybrid: false), seed: "broken curve classical")
        let readClassical = read(classical, from: classicalSender, kemSecret: nil)
        #expect(readClassical.sender == classicalSender.publicIdentity, "a classical start's sender is read")
        #expect(readClassical.first != nil, "and its first message")

        let (alex, hybrid) = try Self.start(try owner.package(), seed: "broken curve hybrid")
        let part = try #require(hybrid.kem)
        // Without the ML-KEM key the recorder has the hybrid derivation but not SS: any guess,
        // or the secret the ciphertext gives under another key, reads nothing.
        for guess in [SecureBytes(Array(repeating: 0, count: 32)), try MLKEM.PrivateKey().decapsulate(part.ciphertext)] {
            let attempt = read(hybrid, from: alex, kemSecret: guess)
            #expect(attempt.sender == nil, "the sender stays sealed")
            #expect(attempt.first == nil, "the first message stays closed")
        }
        #expect(read(hybrid, from: alex, kemSecret: nil).first == nil, "nor with the classical derivation")
        // The control: with the KEM key's secret, the same derivation reads both.
        let opened = read(hybrid, from: alex, kemSecret: try owner.oneTimeKEM.decapsulate(part.ciphertext))
        #expect(opened.sender == alex.publicIdentity)
        #expect(opened.first != nil)
    }

    /// The sealed identity's associated data binds the KEM part: a ciphertext swapped for
    /// another encapsulation to the same key (so the key id and the lookup still match) fails
    /// there, before any state exists.
    @Test func aSwappedCiphertextFailsAtTheSealedIdentity() throws {
        let owner = try Owner(seed: "hybrid swap")
        let (_, initial) = try Self.start(try owner.package())
        let part = try #require(initial.kem)
        var bytes = initial.encoded()
        let ciphertextOffset = 2 + 1 + 32 + 32 + 32 + 32
        bytes.replaceSubrange(ciphertextOffset..<(ciphertextOffset + MLKEM.ciphertextByteCount), with: owner.oneTimeKEM.publicKey.encapsulate().ciphertext)
        let swapped = try InitialMessage(decoding: bytes)
        #expect(swapped.kem?.keyID == part.keyID)
        #expect(throws: Proton.Error.ratchet(.authenticationFailure)) { try owner.respond(swapped) }
    }

    /// A message naming a one-time prekey must encapsulate to that entry's KEM key, not the
    /// last-resort one (which the store then does not offer).
    @Test func aOneTimePrekeyWithTheLastResortKEMKeyIsRefused() throws {
        let owner = try Owner(seed: "hybrid last resort")
        let package = try owner.package()
        let random = DeterministicRandom(seed: "mixer")
        let alex = try Persona(displayName: "Alex", random: random)
        let started = try Proton.initiate(
            persona: alex, bundle: package.bundle, kem: owner.kemPrekey.publicKey, context: .keyPackage, peerRoute: package.route,
            ourRoutes: [], body: [], policy: .init(), now: Self.now, random: random)
        #expect(started.initialMessage.oneTimePrekey != nil)
        #expect(throws: Proton.Error.prekeyMismatch) { try owner.respond(started.initialMessage, kemPrekeys: [owner.oneTimeKEM]) }
    }
}
