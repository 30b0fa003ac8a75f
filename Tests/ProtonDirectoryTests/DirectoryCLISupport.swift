import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore
import ProtonTestSupport
import Testing

/// One run of the built `proton` binary.
struct DirectoryCLIResult {
    let status: Int32
    let stdout: String
    let stderr: String

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
}

/// A scratch home with any number of profiles, and the `proton` binary run in it.
final class DirectoryCLISandbox {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonDirectoryCLI-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("home"), withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func profile(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }

    /// Creates a profile with one persona, in-process.
    @discardableResult
    func createProfile(_ name: String, persona displayName: String) throws -> Persona {
        let persona = try Persona(displayName: displayName, random: SystemRandom())
        let store = try ProfileStore.create(at: profile(name), persona: persona, now: Date())
        try store.close()
        return persona
    }

    /// Gives `profile` a relationship with `peer` (as if it accepted the peer's invite), in-process.
    /// Returns the relationship id.
    func startRelationship(in name: String, persona: Persona, with peer: Persona) throws -> String {
        let now = Date()
        let random = SystemRandom()
        let service = SealedBox.PrivateKey()
        func ownRoute() throws -> OwnRoute {
            let route = try Route(serviceURI: "https://rs.example.org/v1", serviceKey: service.publicKey, address: AddressID(random: random))
            return OwnRoute(route: route, authKey: Ed25519.PrivateKey(), issuedAt: now)
        }
        let store = try ProfileStore.open(at: profile(name), passphrase: nil)
        defer { try? store.close() }
        let invite = Invite(
            identity: peer.identityKey, prekey: X25519.PrivateKey().publicKey, route: try ownRoute().route,
            expires: now.addingTimeInterval(600))
        let started = try Proton.initiate(
            persona: persona, invite: invite, ourRoutes: [try ownRoute()], body: Array("hi".utf8), now: now, random: random)
        _ = try store.startRelationship(
            personaID: try store.personas()[0].id, proton: started.proton, body: Array("hi".utf8), initialMessage: started.initialMessage,
            now: now)
        return started.proton.relationshipID
    }

    func run(_ profileName: String?, _ arguments: String...) async throws -> DirectoryCLIResult {
        try await run(profileName, arguments: arguments)
    }

    func run(_ profileName: String?, arguments: [String]) async throws -> DirectoryCLIResult {
        var environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": root.appendingPathComponent("home").path,
        ]
        if let profileName { environment["PROTON_HOME"] = profile(profileName).path }
        let process = ChildProcess()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        process.environment = environment
        let outURL = root.appendingPathComponent("out-\(UUID().uuidString)")
        let errURL = root.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try await process.runUntilExit()
        try out.close()
        try err.close()
        return DirectoryCLIResult(
            status: process.terminationStatus, stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    static func executable() throws -> URL { try ProtonBinary.url() }
}
