import Benchmark
import Foundation
import ProtonCore
import ProtonCrypto

// What a post-quantum start costs (docs/performance.md, "Starts"): a relationship started from
// a key package, both halves (the initiator's X3DH or PQXDH with its first message, the
// responder's with opening it), classical next to hybrid (ML-KEM-768 keys in the package).

/// The responder's keys and package, made once; the starts use the last-resort prekeys, so one
/// package serves every iteration.
struct StartFixture {
    let owner: Persona
    let signedPrekey: X25519.PrivateKey
    let kemPrekey: MLKEM.PrivateKey
    let package: KeyPackage
    let initiator: Persona
    let route: OwnRoute

    init(hybrid: Bool) {
        let random = SystemRandom()
        owner = try! Persona(displayName: "Blair", random: random)
        signedPrekey = X25519.PrivateKey()
        kemPrekey = MLKEM.PrivateKey()
        initiator = try! Persona(displayName: "Alex", random: random)
        let owned = OwnedAddress(random: random)
        let route = try! Route(serviceURI: "https://rs.example.org", serviceKey: SealedBox.PrivateKey().publicKey, address: owned.id)
        self.route = OwnRoute(route: route, authKey: owned.authKey, issuedAt: Date())
        let expires = Date().addingTimeInterval(86_400)
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
        let started = try! Proton.initiate(
            persona: initiator, keyPackage: package, ourRoutes: [route], body: Array("hello".utf8), now: now, random: random)
        let answered = try! Proton.respond(
            persona: owner, initialMessage: started.initialMessage, signedPrekey: signedPrekey, oneTimePrekey: nil,
            kemPrekeys: package.isHybrid ? [kemPrekey] : [], context: .keyPackage, firstContactRoute: route, ourRoutes: [], now: now,
            random: random)
        blackHole(answered)
    }
}

func registerStartBenchmarks() {
    for hybrid in [false, true] {
        let fixture = Box<StartFixture?>(nil)
        Benchmark(
            hybrid
                ? "Key package start, hybrid (PQXDH, ML-KEM-768): initiate + respond"
                : "Key package start, classical (X3DH): initiate + respond",
            configuration: configuration(.one, maxIterations: 20_000)
        ) { benchmark in
            let start = fixture.value ?? StartFixture(hybrid: hybrid)
            fixture.value = start
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { start.start() }
        }
    }
}
