import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore
import ProtonTestSupport
import Testing

/// What one run of the `proton` binary did.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String

    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }

    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(stdout.utf8))
    }
}

/// Runs the built `proton` executable in a scratch home: `HOME` and `PROTON_HOME` point into a
/// temporary directory, and nothing of the caller's environment leaks in but `PATH`.
final class CLISandbox {
    let root: URL
    let home: URL
    var profile: URL { root.appendingPathComponent("profile", isDirectory: true) }

    init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("ProtonCLITests-\(UUID().uuidString)", isDirectory: true)
        home = root.appendingPathComponent("home", isDirectory: true)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    var baseEnvironment: [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home.path,
            "PROTON_HOME": profile.path,
        ]
    }

    /// Runs `proton arguments`; `environment` is merged over the base (a nil value removes).
    func run(_ arguments: String..., environment: [String: String?] = [:]) async throws -> CLIResult {
        try await run(arguments: arguments, environment: environment)
    }

    func run(arguments: [String], environment: [String: String?] = [:]) async throws -> CLIResult {
        var merged = baseEnvironment
        for (key, value) in environment { merged[key] = value }
        let process = ChildProcess()
        process.executableURL = try CLISandbox.executable()
        process.arguments = arguments
        process.environment = merged
        process.currentDirectoryURL = root
        let outURL = root.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = root.appendingPathComponent("stderr-\(UUID().uuidString)")
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
        return CLIResult(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    static func executable() throws -> URL { try ProtonBinary.url() }
}

/// Two profiles paired in-process through ProtonStore, as the agents would leave them: Alex
/// scanned Blair's invite; they talked, with one of Alex's messages still late.
struct PairedFixture {
    let blairPersona: Persona
    let blairProton: Proton

    /// Creates Blair's profile in `blairDirectory` (and Alex's beside it).
    init(blairDirectory: URL, alexDirectory: URL) throws {
        let now = Date()
        let random = SystemRandom()
        let service = SealedBox.PrivateKey()
        func ownRoute() throws -> OwnRoute {
            let route = try Route(
                serviceURI: "https://rs.example.org/v1", serviceKey: service.publicKey, address: AddressID(random: random))
            return OwnRoute(route: route, authKey: Ed25519.PrivateKey(), issuedAt: now)
        }

        let alexPersona = try Persona(displayName: "Alex", random: random)
        blairPersona = try Persona(displayName: "Blair", random: random)
        let alexStore = try ProfileStore.create(at: alexDirectory, persona: alexPersona, now: now)
        let blairStore = try ProfileStore.create(at: blairDirectory, persona: blairPersona, now: now)
        defer {
            try? alexStore.close()
            try? blairStore.close()
        }
        let alexID = try alexStore.personas()[0].id
        let blairID = try blairStore.personas()[0].id

        let prekey = X25519.PrivateKey()
        let inviteRoute = try ownRoute()
        let invite = Invite(
            identity: blairPersona.identityKey, prekey: prekey.publicKey, route: inviteRoute.route,
            expires: now.addingTimeInterval(600))
        var alex = try Proton.initiate(
            persona: alexPersona, invite: invite, ourRoutes: [try ownRoute()], body: Array("hi".utf8), now: now, random: random)
        let alexProtonID = try alexStore.startRelationship(
            personaID: alexID, proton: alex.proton, body: Array("hi".utf8), initialMessage: alex.initialMessage, now: now)
        var blair = try Proton.respond(
            persona: blairPersona, initialMessage: alex.initialMessage, signedPrekey: prekey, oneTimePrekey: nil,
            context: .invite, firstContactRoute: inviteRoute, ourRoutes: [try ownRoute()], now: now, random: random)
        let blairProtonID = try blairStore.acceptRelationship(
            personaID: blairID, proton: blair.proton, body: blair.message.body, address: inviteRoute.address, now: now)

        let reply = try blair.proton.seal(Array("hello Alex".utf8), now: now, random: random)
        try blairStore.recordOutgoing(
            protonID: blairProtonID, updated: blair.proton, body: Array("hello Alex".utf8), ciphertext: reply.ciphertext,
            routes: reply.routes, now: now)
        _ = try alex.proton.open(reply.ciphertext, at: reply.routes[0].address, now: now, random: random)
        _ = try alex.proton.seal(Array("late".utf8), now: now, random: random)
        let overtaking = try alex.proton.seal(Array("overtaking".utf8), now: now, random: random)
        try alexStore.saveProton(alexProtonID, alex.proton, now: now)
        let received = try blair.proton.open(overtaking.ciphertext, at: overtaking.routes[0].address, now: now, random: random)
        try blairStore.recordIncoming(
            protonID: blairProtonID, updated: blair.proton, body: received.body, address: overtaking.routes[0].address,
            sequence: received.sequence, now: now)
        blairProton = try blairStore.proton(blairProtonID)
    }
}

/// Every key of every object in a decoded JSON value.
func allKeys(_ json: Any) -> Set<String> {
    switch json {
    case let object as [String: Any]:
        return object.reduce(into: Set(object.keys)) { $0.formUnion(allKeys($1.value)) }
    case let array as [Any]:
        return array.reduce(into: Set<String>()) { $0.formUnion(allKeys($1)) }
    default:
        return []
    }
}

extension Array where Element == UInt8 {
    var base64URL: String {
        Data(self).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
