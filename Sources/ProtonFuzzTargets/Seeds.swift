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

    /// Blair's next messages to Alex (same chain), arriving at the invite's address.
    static let blairMessages: [[UInt8]] = {
        var blair = start.blair
        return (1...3).map { index in
            try! blair.seal(Array("message \(index)".utf8), now: Fixtures.now, random: Fixtures.random("blair/\(index)")).ciphertext
        }
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
