import Foundation
import ProtonStore
import ProtonTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What one run of the `proton` binary did.
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String

    var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// A receiving and a sending service as `proton serve` child processes on loopback, and
/// profiles configured to use them; everything lives in a temporary directory.
final class InviteSandbox {
    let root: URL
    private var services: [String: (process: ChildProcess, url: String, data: URL)] = [:]
    /// More arguments for `proton serve KIND`, used from the next (re)start on.
    var serviceArguments: [String: [String]] = [:]
    /// Leave everything in place when done (a failed long run keeps its evidence).
    var keep = false

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonQRTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for kind in ["receiving", "sending"] {
            let data = root.appendingPathComponent("service-\(kind)")
            let (process, url) = try Self.serve(kind, listen: "127.0.0.1:0", data: data)
            services[kind] = (process, url, data)
        }
    }

    deinit {
        stopServices()
        if !keep { try? FileManager.default.removeItem(at: root) }
    }

    var receivingURL: String { services["receiving"]!.url }
    var sendingURL: String { services["sending"]!.url }

    func profile(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }

    /// The data directory of the `receiving` or `sending` service.
    func serviceData(_ kind: String) -> URL { services[kind]!.data }

    /// `proton init` and both services, for a person called `name`.
    func makeProfile(_ name: String) async throws {
        try await require(run(name, "init", "--name", name))
        try await require(run(name, "services", "add", "receiving", receivingURL))
        try await require(run(name, "services", "add", "sending", sendingURL))
    }

    /// Alex and Blair, each with both services, in a relationship Blair started from Alex's
    /// invite with a first message that Alex's receive agent completed.
    static func paired() async throws -> InviteSandbox {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        let text = try await sandbox.require(sandbox.run("Alex", "invite")).stdout
        try await sandbox.require(sandbox.run("Blair", "accept", "--message", "Hello Alex.", input: text))
        try await sandbox.require(sandbox.run("Alex", "receive"))
        return sandbox
    }

    func openStore(_ name: String) throws -> ProfileStore { try ProfileStore.open(at: profile(name)) }

    /// Stops both services: afterwards nothing on the network answers.
    func stopServices() {
        for service in services.values where service.process.isRunning {
            service.process.terminate()
            service.process.waitUntilExit()
        }
    }

    /// Kills the `receiving` or `sending` service with SIGKILL: no shutdown of any kind.
    func killService(_ kind: String) {
        guard let service = services[kind], service.process.isRunning else { return }
        service.process.signal(SIGKILL)
        service.process.waitUntilExit()
    }

    /// The process of the `receiving` or `sending` service.
    func serviceProcess(_ kind: String) -> ChildProcess? { services[kind]?.process }

    /// Whether the `receiving` or `sending` service is running.
    func isRunning(_ kind: String) -> Bool { services[kind]?.process.isRunning ?? false }

    /// Starts one service again on its port and data, if it is not running.
    func restartService(_ kind: String) throws {
        guard let service = services[kind], !service.process.isRunning else { return }
        let port = try #require(URLComponents(string: service.url)?.port)
        let (process, _) = try Self.serve(kind, listen: "127.0.0.1:\(port)", data: service.data, extra: serviceArguments[kind] ?? [])
        services[kind] = (process, service.url, service.data)
    }

    /// Starts both services again on their ports and data.
    func restartServices() throws {
        for (kind, service) in services {
            let port = try #require(URLComponents(string: service.url)?.port)
            let (process, _) = try Self.serve(kind, listen: "127.0.0.1:\(port)", data: service.data, extra: serviceArguments[kind] ?? [])
            services[kind] = (process, service.url, service.data)
        }
    }

    @discardableResult
    func require(_ run: Run, sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
        try #require(run.status == 0, "proton failed (\(run.status)): \(run.stderr)", sourceLocation: sourceLocation)
        return run
    }

    /// Runs `proton ARGUMENTS --profile DIR` as `person`, with `environment` over a minimal one
    /// (a nil value removes a variable) and `input` on stdin.
    func run(_ person: String, _ arguments: String..., environment: [String: String?] = [:], input: String? = nil) async throws -> Run {
        try await run(person, arguments: arguments, environment: environment, input: input)
    }

    func run(_ person: String, arguments: [String], environment: [String: String?] = [:], input: String? = nil) async throws -> Run {
        var merged: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": root.path,
            "PROTON_HOME": profile(person).path,
        ]
        for (key, value) in environment { merged[key] = value }
        return try await Self.launch(arguments, environment: merged, input: input, directory: root)
    }

    static func launch(_ arguments: [String], environment: [String: String], input: String?, directory: URL) async throws -> Run {
        let process = ChildProcess()
        process.executableURL = try executable()
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        let outURL = directory.appendingPathComponent("out-\(UUID().uuidString)")
        let errURL = directory.appendingPathComponent("err-\(UUID().uuidString)")
        let inURL = directory.appendingPathComponent("in-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((input ?? "").utf8))
        defer { for url in [outURL, errURL, inURL] { try? FileManager.default.removeItem(at: url) } }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : try FileHandle(forReadingFrom: inURL)
        try await process.runUntilExit()
        try out.close()
        try err.close()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Runs `proton serve KIND` once it is bound.
    static func serve(_ kind: String, listen: String, data: URL, extra: [String] = []) throws -> (ChildProcess, String) {
        try ProtonServe.start(
            ["serve", kind, "--listen", listen, "--data", data.path] + (kind == "sending" ? ["--allow-private-targets"] : []) + extra)
    }

    static func executable() throws -> URL { try ProtonBinary.url() }
}
