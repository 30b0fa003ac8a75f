import Benchmark
import Foundation
import ProtonCore
import ProtonCrypto

// What a post-quantum start costs (docs/performance.md, "Starts"), per path: a relationship
// started from a key package, both halves (the initiator's X3DH or PQXDH with its first
// message, the responder's with opening it), classical next to hybrid (ML-KEM-768 keys in the
// package); and from an invite (X3DH; the first message offers the ratchet's ML-KEM key, or,
// as an offline reply, does not).

/// The responder's keys and package, made once; the starts use the last-resort prekeys, so one
/// package serves every iteration.
struct StartFixture {
    enum Path { case keyPackage(hybrid: Bool), invite(offline: Bool) }

    let path: Path
    let owner: Persona
    let signedPrekey: X25519.PrivateKey
    let kemPrekey: MLKEM.PrivateKey
    let package: KeyPackage
    let initiator: Persona
    let route: OwnRoute

    init(_ path: Path) {
        self.path = path
        let random = SystemRandom()
        owner = try! Persona(displayName: "Blair", random: random)
        signedPrekey = X25519.PrivateKey()
        kemPrekey = MLKEM.PrivateKey()
        initiator = try! Persona(displayName: "Alex", random: random)
        let owned = OwnedAddress(random: random)
        let route = try! Route(serviceURI: "https://rs.example.org", serviceKey: SealedBox.PrivateKey().publicKey, address: owned.id)
        self.route = OwnRoute(route: route, authKey: owned.authKey, issuedAt: Date())
        let expires = Date().addingTimeInterval(86_400)
        let hybrid = if case .keyPackage(hybrid: true) = path { true } else { false }
        package =
            hybrid
            ? try! KeyPackage(
                identity: owner.identityKey, signedPrekey: signedPrekey.publicKey, kemPrekey: kemPrekey.publicKey, oneTimePrekeys: [],
                route: route, expires: expires)
            : try! KeyPackage(identity: owner.identityKey, signedPrekey: signedPrekey.publicKey, oneTimePrekeys: [], route: route, expires: expires)
    }

    /// One start, both halves.
    func start() {
        let now = Date()
        let random = SystemRandom()
        let started: (proton: Proton, initialMessage: InitialMessage)
        let context: AgreementContext
        switch path {
        case .keyPackage:
            started = try! Proton.initiate(
                persona: initiator, keyPackage: package, ourRoutes: [route], body: Array("hello".utf8), now: now, random: random)
            context = .keyPackage
        case .invite(let offline):
            let invite = Invite(identity: owner.identityKey, prekey: signedPrekey.publicKey, route: route.route, expires: now.addingTimeInterval(600))
            started = try! Proton.initiate(
                persona: initiator, invite: invite, ourRoutes: [route], body: Array("hello".utf8), offersFirstKEMKey: !offline, now: now,
                random: random)
            context = .invite
        }
        let answered = try! Proton.respond(
            persona: owner, initialMessage: started.initialMessage, signedPrekey: signedPrekey, oneTimePrekey: nil,
            kemPrekeys: package.isHybrid ? [kemPrekey] : [], context: context, firstContactRoute: route, ourRoutes: [], now: now,
            random: random)
        blackHole(answered)
    }
}

func registerStartBenchmarks() {
    let paths: [(StartFixture.Path, String)] = [
        (.keyPackage(hybrid: false), "Key package start, classical (X3DH): initiate + respond"),
        (.keyPackage(hybrid: true), "Key package start, hybrid (PQXDH, ML-KEM-768): initiate + respond"),
        (.invite(offline: false), "Invite start (X3DH, first message offers an ML-KEM key): initiate + respond"),
        (.invite(offline: true), "Invite start, offline reply (X3DH, no ML-KEM key): initiate + respond"),
    ]
    for (path, name) in paths {
        let fixture = Box<StartFixture?>(nil)
        Benchmark(name, configuration: configuration(.one, maxIterations: 20_000)) { benchmark in
            let start = fixture.value ?? StartFixture(path)
            fixture.value = start
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { start.start() }
        }
    }
}
