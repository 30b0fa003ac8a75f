import Foundation
import ProtonAgents
import ProtonStore
import ProtonTestSupport
import Testing

/// The agent commands of the `proton` binary, run as a subprocess in a scratch profile.
struct AgentCommandTests {
    /// The services a profile stores, read the way the agents read them.
    static func storedServices(_ profile: URL) throws -> ServicesConfiguration {
        let store = try ProfileStore.open(at: profile)
        defer { try? store.close() }
        return try ServicesConfiguration.load(from: store)
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    final class Sandbox {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonAgentsCLI-\(UUID().uuidString)")
        var profile: URL { root.appendingPathComponent("profile") }

        deinit { try? FileManager.default.removeItem(at: root) }

        func run(_ arguments: String...) async throws -> Run {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let process = ChildProcess()
            process.executableURL = try Self.executable()
            process.arguments = arguments
            process.environment = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": root.path, "PROTON_HOME": profile.path,
            ]
            let out = root.appendingPathComponent("out-\(UUID().uuidString)")
            let err = root.appendingPathComponent("err-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            process.standardInput = FileHandle.nullDevice
            try await process.runUntilExit()
            return Run(
                status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                stderr: try String(contentsOf: err, encoding: .utf8))
        }

        static func executable() throws -> URL { try ProtonBinary.url() }
    }

    @Test func servicesListPrintsJSONAndAddRemoveEditIt() async throws {
        let sandbox = Sandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let empty = try await sandbox.run("services", "list", "--json")
        #expect(empty.status == 0)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [String: Any])
        #expect((parsed["sending"] as? [Any])?.isEmpty == true)
        #expect((parsed["receiving"] as? [Any])?.isEmpty == true)

        #expect(try await sandbox.run("services", "add", "sending", "http://127.0.0.1:9/").status == 0)
        let listed = try await sandbox.run("services", "list", "--json")
        let configuration = try JSONDecoder.iso8601.decode(ServicesConfiguration.self, from: Data(listed.stdout.utf8))
        #expect(configuration.sending.map(\.uri) == ["http://127.0.0.1:9"])
        // Kept in the profile's database (0600), not in a file beside it.
        #expect(!FileManager.default.fileExists(atPath: ServicesConfiguration.url(in: sandbox.profile).path))
        #expect(try Self.storedServices(sandbox.profile).sending.map(\.uri) == ["http://127.0.0.1:9"])

        let duplicate = try await sandbox.run("services", "add", "sending", "http://127.0.0.1:9")
        #expect(duplicate.status == 73)
        #expect(duplicate.stderr == "proton: The service http://127.0.0.1:9 is configured already.\n")
        #expect(try await sandbox.run("services", "remove", "http://127.0.0.1:9").status == 0)
        #expect(try await sandbox.run("services", "remove", "http://127.0.0.1:9").status == 64)
    }

    @Test func addingAnUnreachableReceivingServiceExits69() async throws {
        let sandbox = Sandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let result = try await sandbox.run("services", "add", "receiving", "http://127.0.0.1:9")
        #expect(result.status == 69)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try Self.storedServices(sandbox.profile).isEmpty)
    }

    @Test func sendWithoutServicesSaysSoInOneSentenceAndExits69() async throws {
        let sandbox = Sandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let result = try await sandbox.run("send", "Blair", "hello")
        #expect(result.status == 69)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr
                == "proton: No sending service is configured; add one with 'proton services add sending URI'.\n")
        let receive = try await sandbox.run("receive")
        #expect(receive.status == 69)
        #expect(receive.stderr.hasPrefix("proton: No receiving service is configured"))
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
