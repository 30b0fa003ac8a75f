import Foundation
import ProtonTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct PairRun {
    let status: Int32
    let stdout: String
    let stderr: String
    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
}

/// The built `proton` binary run in a scratch directory with its own profile.
final class PairSandbox {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonBluetoothTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func run(_ arguments: [String]) async throws -> PairRun {
        let process = ChildProcess()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        process.environment = [
            "PATH": "/usr/bin:/bin", "HOME": root.path, "PROTON_HOME": root.appendingPathComponent("profile").path,
        ]
        let out = root.appendingPathComponent("out-\(UUID().uuidString)")
        let err = root.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try await process.runUntilExit()
        try outHandle.close()
        try errHandle.close()
        return PairRun(
            status: process.terminationStatus, stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    func expectSuccess(_ arguments: String...) async throws {
        let result = try await run(arguments)
        try #require(result.status == 0, "proton \(arguments.joined(separator: " ")): \(result.stderr)")
    }

    /// The `proton` SwiftPM built beside this test bundle, or `PROTON_CLI`.
    static func executable() throws -> URL { try ProtonBinary.url() }
}

/// A real `proton serve receiving` on a loopback port, stopped with SIGTERM.
final class ReceivingServiceProcess {
    let process = ChildProcess()
    let url: String

    init(data: URL) throws {
        process.executableURL = try PairSandbox.executable()
        process.arguments = ["serve", "receiving", "--listen", "127.0.0.1:0", "--data", data.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if let range = seen.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) {
                url = String(seen[range])
                return
            }
        }
        process.terminate()
        throw ServiceDidNotStart(output: seen)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    struct ServiceDidNotStart: Error { let output: String }
}
