import Foundation
import ProtonCore
import ProtonCrypto

/// The fixed keys, routes and clock every target and seed uses: deterministic, so that a
/// recorded exchange (a seed) replays exactly against the same keys at fuzzing time.
enum Fixtures {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let serviceURI = "https://rs.example.org/v1"

    static func random(_ label: String) -> DeterministicRandom { DeterministicRandom(seed: "proton/fuzz/" + label) }

    /// The receiving service's key: sealed addresses are opened with it.
    static let serviceKey = SealedBox.PrivateKey(using: random("service"))

    static func route(_ label: String) -> Route {
        // A fixed URI and a valid key cannot fail.
        try! Route(serviceURI: serviceURI, serviceKey: serviceKey.publicKey, address: AddressID(random: random("route/" + label)))
    }

    static func ownRoute(_ label: String) -> OwnRoute {
        let random = random("own-route/" + label)
        return OwnRoute(
            route: try! Route(serviceURI: serviceURI, serviceKey: serviceKey.publicKey, address: AddressID(random: random)),
            authKey: Ed25519.PrivateKey(using: random), issuedAt: now)
    }

    static func persona(_ name: String) -> Persona {
        try! Persona(displayName: name, identityKey: Ed25519.PrivateKey(using: random("persona/" + name)))
    }

    /// Runs `body` to completion from synchronous code (the fuzz entry point is synchronous).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = Slot<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

/// One value handed from a task to the thread that waits for it.
final class Slot<T>: @unchecked Sendable {
    var value: T?
}

extension [UInt8] {
    /// The input as text, as a parser of text would get it from a file or a paste.
    var text: String { String(decoding: self, as: UTF8.self) }
}
