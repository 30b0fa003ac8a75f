import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// Valid objects built from fixed seeds, as the test vectors are: the corpus starts from them,
/// and the relationship targets run against the same fixed relationship.
enum Seeds {
    static let alex = Fixtures.persona("Alex")
    static let blair = Fixtures.persona("Blair")
    static let invitePrekey = X25519.PrivateKey(using: Fixtures.random("invite-prekey"))
    static let inviteRoute = Fixtures.ownRoute("invite")

    static let invite = Invite(
        identity: alex.identityKey, prekey: invitePrekey.publicKey, route: inviteRoute.route,
        expires: Fixtures.now.addingTimeInterval(86_400))

    static let attestedInvite = Invite(
        identity: alex.identityKey, prekey: invitePrekey.publicKey, route: inviteRoute.route,
        expires: Fixtures.now.addingTimeInterval(86_400), attestation: Directory.bundle.encoded())

    static let keyPackage: KeyPackage = {
        let random = Fixtures.random("key-package")
        return try! KeyPackage(
            identity: alex.identityKey, signedPrekey: X25519.PrivateKey(using: random).publicKey,
            oneTimePrekeys: [X25519.PrivateKey(using: random).publicKey, X25519.PrivateKey(using: random).publicKey],
            route: Fixtures.route("key-package"), expires: Fixtures.now.addingTimeInterval(30 * 86_400))
    }()

    /// A hybrid (version 2) package with one one-time entry, and the KEM keys behind it.
    static let hybridKEMPrekey = MLKEM.PrivateKey(using: Fixtures.random("hybrid-kem"))
    static let hybridKeyPackage: KeyPackage = {
        let random = Fixtures.random("hybrid-key-package")
        return try! KeyPackage(
            identity: alex.identityKey, signedPrekey: invitePrekey.publicKey, kemPrekey: hybridKEMPrekey.publicKey,
            oneTimePrekeys: [(X25519.PrivateKey(using: random).publicKey, MLKEM.PrivateKey(using: random).publicKey)],
            route: Fixtures.route("key-package"), expires: Fixtures.now.addingTimeInterval(30 * 86_400))
    }()

    /// A hybrid initial message to the last-resort KEM key of `hybridKeyPackage`.
    static let hybridInitial: InitialMessage = {
        let random = Fixtures.random("hybrid-initial")
        return try! Proton.initiate(
            persona: alex, keyPackage: hybridKeyPackage.withOneTimePrekeys([]), ourRoutes: [], body: Array("hi".utf8), now: Fixtures.now,
            random: random
        ).initialMessage
    }()

    static let envelope = try! Envelope(sealing: Array(0..<16), to: Fixtures.route("envelope"), random: Fixtures.random("envelope"))

    /// Blair accepts Alex's invite.
    static let start: (blair: Proton, initial: InitialMessage) = {
        let (proton, initial) = try! Proton.initiate(
            persona: blair, invite: invite, ourRoutes: [Fixtures.ownRoute("blair")], body: Array("Hello Alex".utf8),
            now: Fixtures.now, random: Fixtures.random("blair"))
        return (proton, initial)
    }()

    /// Alex after opening Blair's initial message: the state the `proton-open` target starts from.
    static let alexProton: Proton = {
        try! Proton.respond(
            persona: alex, initialMessage: start.initial, signedPrekey: invitePrekey, oneTimePrekey: nil, context: .invite,
            firstContactRoute: inviteRoute, ourRoutes: [Fixtures.ownRoute("alex")], now: Fixtures.now,
            random: Fixtures.random("alex")
        ).proton
    }()

    /// Blair's messages to Alex, arriving at the invite's address: three in Blair's first chain,
    /// then (after Blair opened a reply from Alex) two in a new chain, so that opening them
    /// takes a DH-ratchet step.
    static let blairMessages: [[UInt8]] = {
        var blair = start.blair
        var messages = (1...3).map { index in
            try! blair.seal(Array("message \(index)".utf8), now: Fixtures.now, random: Fixtures.random("blair/\(index)")).ciphertext
        }
        var alex = alexProton
        let reply = try! alex.seal(Array("reply".utf8), now: Fixtures.now, random: Fixtures.random("alex/reply")).ciphertext
        let blairRoute = Fixtures.ownRoute("blair").route.address
        _ = try! blair.open(reply, at: blairRoute, now: Fixtures.now, random: Fixtures.random("blair/open"))
        messages += (4...5).map { index in
            try! blair.seal(Array("message \(index)".utf8), now: Fixtures.now, random: Fixtures.random("blair/\(index)")).ciphertext
        }
        return messages
    }()

    /// A directory with a ten-leaf log whose leaf 5 attests alice@example.org.
    enum Directory {
        static let key = try! DirectoryKey(name: "directory.example.org", privateKey: Ed25519.PrivateKey(using: Fixtures.random("directory")))

        static let attestation = try! Attestation(
            kind: .attestation, namespace: "example.org", name: "alice", identityKey: alex.identityKey.publicKey,
            issued: Fixtures.now, expires: Fixtures.now.addingTimeInterval(365 * 86_400), logIndex: 5, signedBy: key)

        static let log: InMemoryTransparencyLog = {
            let log = InMemoryTransparencyLog()
            _ = try! log.append((0..<5).map { Array("filler \($0)".utf8) })
            _ = try! log.append([attestation.encoded()])
            _ = try! log.append((6..<10).map { Array("filler \($0)".utf8) })
            return log
        }()

        static let checkpoint = try! key.sign(try! log.checkpoint(origin: key.name))

        static let bundle = AttestationBundle(
            attestation: attestation, proof: try! log.inclusionProof(index: 5, size: 10), checkpoint: checkpoint)
    }
}
