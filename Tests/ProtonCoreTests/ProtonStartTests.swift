import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// The three entry points over one X3DH core: invite, key package, interactive exchange.
struct ProtonStartTests {
    struct Parties {
        let random: DeterministicRandom
        let routes: RouteFactory
        let alice: Persona
        let bob: Persona
        let signedPrekey: X25519.PrivateKey
        let oneTimePrekeys: [X25519.PrivateKey]
        let firstContact: OwnRoute
        let aliceRoute: OwnRoute
        let bobRoute: OwnRoute

        init(seed: String) throws {
            random = DeterministicRandom(seed: seed)
            routes = RouteFactory(random: random)
            alice = try Persona(displayName: "Alice", random: random)
            bob = try Persona(displayName: "Bob", random: random)
            signedPrekey = X25519.PrivateKey(using: random)
            oneTimePrekeys = [X25519.PrivateKey(using: random), X25519.PrivateKey(using: random)]
            firstContact = try routes.ownRoute()
            aliceRoute = try routes.ownRoute()
            bobRoute = try routes.ownRoute()
        }

        func invite(expires: Date = testNow.addingTimeInterval(3600)) -> Invite {
            Invite(identity: bob.identityKey, prekey: signedPrekey.publicKey, route: firstContact.route, expires: expires)
        }

        func keyPackage(expires: Date = testNow.addingTimeInterval(86400)) throws -> KeyPackage {
            try KeyPackage(
                identity: bob.identityKey, signedPrekey: signedPrekey.publicKey,
                oneTimePrekeys: oneTimePrekeys.map(\.publicKey), route: firstContact.route, expires: expires)
        }

        /// Checks that the two protons talk in both directions.
        func expectConversation(_ alice: inout Proton, _ bob: inout Proton) throws {
            let reply = try bob.seal(Array("from Bob".utf8), now: testNow, random: random)
            #expect(try alice.open(reply.ciphertext, at: reply.routes[0].address, now: testNow, random: random).text == "from Bob")
            let next = try alice.seal(Array("from Alice".utf8), now: testNow, random: random)
            #expect(next.routes.first == bobRoute.route)
            #expect(try bob.open(next.ciphertext, at: next.routes[0].address, now: testNow, random: random).text == "from Alice")
            #expect(alice.safetyNumber == bob.safetyNumber)
            #expect(alice.relationshipID == bob.relationshipID)
            #expect(alice.peerDisplayName == "Bob" && bob.peerDisplayName == "Alice")
        }
    }

    // MARK: - Invite

    @Test func startsFromAnInvite() throws {
        let p = try Parties(seed: "start: invite")
        let started = try Proton.initiate(
            persona: p.alice, invite: p.invite(), ourRoutes: [p.aliceRoute], body: Array("hi".utf8), now: testNow,
            random: p.random)
        var alice = started.proton
        let initial = started.initialMessage
        #expect(initial.oneTimePrekey == nil)
        #expect(initial.signedPrekey == p.signedPrekey.publicKey)
        #expect(alice.sendingRoutes == [p.firstContact.route])
        #expect(alice.canSend)
        let answered = try Proton.respond(
            persona: p.bob, initialMessage: try InitialMessage(decoding: initial.encoded()), signedPrekey: p.signedPrekey,
            oneTimePrekey: nil, context: .invite, firstContactRoute: p.firstContact, ourRoutes: [p.bobRoute],
            now: testNow, random: p.random)
        var bob = answered.proton
        let received = answered.message
        #expect(received.text == "hi")
        #expect(bob.peerIdentity == p.alice.publicIdentity)
        try p.expectConversation(&alice, &bob)
    }

    @Test func refusesAnExpiredInvite() throws {
        let p = try Parties(seed: "start: expired invite")
        let invite = p.invite(expires: testNow)
        #expect(invite.isExpired(now: testNow))
        #expect(!invite.isExpired(now: testNow - 1))
        #expect(throws: Proton.Error.expired) {
            try Proton.initiate(persona: p.alice, invite: invite, ourRoutes: [p.aliceRoute], now: testNow, random: p.random)
        }
        _ = try Proton.initiate(persona: p.alice, invite: invite, ourRoutes: [p.aliceRoute], now: testNow - 1, random: p.random)
    }

    @Test func tamperedInviteFailsToDecodeAtEveryByte() throws {
        let p = try Parties(seed: "start: tampered invite")
        let bytes = p.invite().encoded()
        #expect(try Invite(decoding: bytes) == p.invite())
        for index in bytes.indices {
            #expect(throws: WireError.self, "byte \(index)") { try Invite(decoding: bytes.flipping(byte: index)) }
        }
        // Inside the signed fields the signature is what catches it.
        let signatureFailure = WireError.invalidValue(
            field: "signature", reason: "does not verify: the invite was altered or forged")
        for index in [2, 40, 68, 71, 100, 130, 150, bytes.count - 1] {
            #expect(throws: signatureFailure, "byte \(index)") { try Invite(decoding: bytes.flipping(byte: index)) }
        }
    }

    @Test func inviteSurvivesItsQRText() throws {
        let p = try Parties(seed: "start: qr text")
        let invite = p.invite()
        let text = invite.qrText
        #expect(text == Base45.encode(invite.encoded()))
        #expect(try Invite(qrText: text) == invite)
        #expect(try Invite(qrText: "  \n" + text + "\n") == invite)
        #expect(throws: WireError.self) { try Invite(qrText: text.lowercased()) }
        #expect(throws: WireError.self) { try Invite(qrText: String(text.dropLast())) }
    }

    @Test func initialMessageHidesTheInitiatorsIdentity() throws {
        let p = try Parties(seed: "start: sealed identity")
        let (_, initial) = try Proton.initiate(
            persona: p.alice, invite: p.invite(), ourRoutes: [p.aliceRoute], now: testNow, random: p.random)
        let bytes = initial.encoded()
        #expect(!bytes.containsSubsequence(p.alice.publicIdentity.rawRepresentation))
        #expect(try initial.initiatorIdentity(using: p.signedPrekey) == p.alice.publicIdentity)
        #expect(throws: RatchetError.authenticationFailure) {
            try initial.initiatorIdentity(using: X25519.PrivateKey(using: p.random))
        }
    }

    @Test func refusesATamperedInitialMessage() throws {
        let p = try Parties(seed: "start: tampered initial")
        let (_, initial) = try Proton.initiate(
            persona: p.alice, invite: p.invite(), ourRoutes: [p.aliceRoute], now: testNow, random: p.random)
        let bytes = initial.encoded()
        // flags 2, signed prekey 3..<35, ephemeral 35..<67, sealed identity 67..<115, length 115..<119.
        func respond(_ bytes: [UInt8]) throws {
            _ = try Proton.respond(
                persona: p.bob, initialMessage: try InitialMessage(decoding: bytes), signedPrekey: p.signedPrekey,
                oneTimePrekey: nil, context: .invite, firstContactRoute: p.firstContact, ourRoutes: [p.bobRoute],
                now: testNow, random: p.random)
        }
        #expect(throws: Proton.Error.prekeyMismatch) { try respond(bytes.flipping(byte: 10)) }
        #expect(throws: Proton.Error.ratchet(.authenticationFailure)) { try respond(bytes.flipping(byte: 40)) }
        #expect(throws: Proton.Error.ratchet(.authenticationFailure)) { try respond(bytes.flipping(byte: 80)) }
        #expect(throws: Proton.Error.ratchet(.undecryptableHeader)) { try respond(bytes.flipping(byte: 130)) }
        #expect(throws: Proton.Error.ratchet(.authenticationFailure)) { try respond(bytes.flipping(byte: bytes.count - 1)) }
        try respond(bytes)
    }

    @Test func refusesTheWrongSignedPrekey() throws {
        let p = try Parties(seed: "start: wrong prekey")
        let (_, initial) = try Proton.initiate(
            persona: p.alice, invite: p.invite(), ourRoutes: [p.aliceRoute], now: testNow, random: p.random)
        #expect(throws: Proton.Error.prekeyMismatch) {
            try Proton.respond(
                persona: p.bob, initialMessage: initial, signedPrekey: p.oneTimePrekeys[0], oneTimePrekey: nil,
                context: .invite, firstContactRoute: nil, ourRoutes: [], now: testNow, random: p.random)
        }
    }

    @Test func refusesMoreRoutesThanAPeerKeeps() throws {
        let p = try Parties(seed: "start: too many routes")
        let many = try (0...Proton.maximumPeerRoutes).map { _ in try p.routes.ownRoute() }
        #expect(throws: Proton.Error.tooManyRoutes(limit: 8)) {
            try Proton.initiate(persona: p.alice, invite: p.invite(), ourRoutes: many, now: testNow, random: p.random)
        }
    }

    // MARK: - Key package

    @Test func startsFromAKeyPackageUsingItsOneTimePrekey() throws {
        let p = try Parties(seed: "start: key package")
        let published = try KeyPackage(decoding: p.keyPackage().encoded())
        // The directory vends one one-time prekey at a time; the signature still verifies.
        let vended = try KeyPackage(decoding: published.withOneTimePrekeys([KeyPackage.OneTimePrekey(prekey: p.oneTimePrekeys[1].publicKey)]).encoded())
        let started = try Proton.initiate(
            persona: p.alice, keyPackage: vended, ourRoutes: [p.aliceRoute], body: Array("hi".utf8), now: testNow,
            random: p.random)
        var alice = started.proton
        let initial = started.initialMessage
        #expect(initial.oneTimePrekey == p.oneTimePrekeys[1].publicKey)
        #expect(alice.sendingRoutes == [p.firstContact.route])

        let arrived = try InitialMessage(decoding: initial.encoded())
        func respond(oneTime: X25519.PrivateKey?, context: AgreementContext) throws(Proton.Error) -> (Proton, Proton.ReceivedMessage) {
            try Proton.respond(
                persona: p.bob, initialMessage: arrived, signedPrekey: p.signedPrekey, oneTimePrekey: oneTime,
                context: context, firstContactRoute: p.firstContact, ourRoutes: [p.bobRoute], now: testNow, random: p.random)
        }
        #expect(throws: Proton.Error.prekeyMismatch) { try respond(oneTime: p.oneTimePrekeys[0], context: .keyPackage) }
        #expect(throws: Proton.Error.prekeyMismatch) { try respond(oneTime: nil, context: .keyPackage) }
        // The entry point is bound into the secret: the same keys under another context fail.
        #expect(throws: Proton.Error.ratchet(.undecryptableHeader)) {
            try respond(oneTime: p.oneTimePrekeys[1], context: .invite)
        }
        let answered = try respond(oneTime: p.oneTimePrekeys[1], context: .keyPackage)
        var bob = answered.0
        let received = answered.1
        #expect(received.text == "hi")
        try p.expectConversation(&alice, &bob)
    }

    @Test func startsFromAKeyPackageWithoutOneTimePrekeys() throws {
        let p = try Parties(seed: "start: key package, no one-time prekey")
        let package = try p.keyPackage().withOneTimePrekeys([])
        let started = try Proton.initiate(
            persona: p.alice, keyPackage: package, ourRoutes: [p.aliceRoute], now: testNow, random: p.random)
        var alice = started.proton
        let initial = started.initialMessage
        #expect(initial.oneTimePrekey == nil)
        let answered = try Proton.respond(
            persona: p.bob, initialMessage: try InitialMessage(decoding: initial.encoded()), signedPrekey: p.signedPrekey,
            oneTimePrekey: nil, context: .keyPackage, firstContactRoute: p.firstContact, ourRoutes: [p.bobRoute],
            now: testNow, random: p.random)
        var bob = answered.proton
        #expect(answered.message.body.isEmpty)
        try p.expectConversation(&alice, &bob)
    }

    @Test func refusesAnExpiredKeyPackage() throws {
        let p = try Parties(seed: "start: expired key package")
        let package = try p.keyPackage(expires: testNow)
        #expect(throws: Proton.Error.expired) {
            try Proton.initiate(persona: p.alice, keyPackage: package, ourRoutes: [], now: testNow, random: p.random)
        }
    }

    @Test func tamperedKeyPackageFailsToDecode() throws {
        let p = try Parties(seed: "start: tampered key package")
        let original = try p.keyPackage()
        let bytes = original.encoded()
        // Everything up to the one-time prekeys is signed or structural: any flip is refused.
        let unsignedStart = bytes.count - 2 * 32
        for index in 0..<unsignedStart {
            #expect(throws: WireError.self, "byte \(index)") { try KeyPackage(decoding: bytes.flipping(byte: index)) }
        }
        // The one-time prekeys are not signed (X3DH section 3.2: a directory vends them one at a
        // time), so a flip there yields another well-formed package with the same signature.
        for index in [unsignedStart, bytes.count - 1] {
            let decoded = try KeyPackage(decoding: bytes.flipping(byte: index))
            #expect(decoded.oneTimePrekeys != original.oneTimePrekeys)
            #expect(decoded.signature == original.signature)
        }
    }

    // MARK: - Interactive

    @Test func startsFromAnInteractiveExchangeBoundToTheTranscript() throws {
        let p = try Parties(seed: "start: interactive")
        let transcriptHash = SHA256.hash(Array("pairing transcript".utf8))
        let package = try KeyPackage(
            identity: p.bob.identityKey, signedPrekey: p.signedPrekey.publicKey, oneTimePrekeys: [p.oneTimePrekeys[0].publicKey],
            route: p.firstContact.route, expires: testNow.addingTimeInterval(300))
        let started = try Proton.initiate(
            persona: p.alice, peerKeyPackage: package, transcriptHash: transcriptHash, ourRoutes: [p.aliceRoute],
            now: testNow, random: p.random)
        var alice = started.proton
        let initial = started.initialMessage
        #expect(initial.oneTimePrekey == p.oneTimePrekeys[0].publicKey)

        func respond(_ hash: [UInt8]) throws(Proton.Error) -> (Proton, Proton.ReceivedMessage) {
            try Proton.respond(
                persona: p.bob, initialMessage: initial, signedPrekey: p.signedPrekey, oneTimePrekey: p.oneTimePrekeys[0],
                context: .interactive(transcriptHash: hash), firstContactRoute: nil, ourRoutes: [p.bobRoute],
                now: testNow, random: p.random)
        }
        // A different transcript (a man in the middle) gives a different secret.
        #expect(throws: Proton.Error.ratchet(.undecryptableHeader)) { try respond(SHA256.hash(Array("other".utf8))) }
        #expect(throws: Proton.Error.ratchet(.undecryptableHeader)) { try respond(transcriptHash.flipping(byte: 31)) }
        let answered = try respond(transcriptHash)
        var bob = answered.0
        let received = answered.1
        #expect(received.body.isEmpty)
        #expect(bob.ownRoutes.map(\.address) == [p.bobRoute.address])  // no first-contact route
        try p.expectConversation(&alice, &bob)
    }
}
