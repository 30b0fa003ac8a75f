import Foundation
import ProtonTestSupport
import Testing

struct ErrorReportingTests {
    @Test func aMissingProfileExits66WithOneSentence() async throws {
        let sandbox = try CLISandbox()
        for arguments in [["contacts"], ["persona", "list"], ["show", "Blair"], ["export-state", "--json"]] {
            let result = try await sandbox.run(arguments: arguments)
            #expect(result.status == 66, "\(arguments)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderrLines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("proton: There is no Proton profile in \(sandbox.profile.path)"))
            #expect(result.stderr.contains("proton init"))
        }
    }

    @Test func anUnknownContactExits67WithOneLine() async throws {
        let sandbox = try CLISandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let result = try await sandbox.run("show", "Nobody")
        #expect(result.status == 67)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1)
        #expect(result.stderr.hasPrefix("proton: No contact is named \"Nobody\""))
    }

    @Test func aUsageErrorIsOneLineWithStatus64() async throws {
        let sandbox = try CLISandbox()
        for arguments in [["persona", "add"], ["no-such-command"], ["contacts", "--frobnicate"]] {
            let result = try await sandbox.run(arguments: arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.stderrLines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("proton: "))
        }
    }

    /// A profile on a read-only file system (a backup mounted read-only) is still read by the
    /// commands that only read; a command that writes says the profile cannot be written,
    /// instead of "could not create".
    @Test(.enabled(if: ReadOnlyMount.isAvailable, "needs root to mount"))
    func aReadOnlyProfileIsReadAndSaidToBeOneWhenWritten() async throws {
        let sandbox = try CLISandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let readOnly = try ReadOnlyMount(sandbox.profile)
        defer { readOnly.unmount() }
        for arguments in [["contacts"], ["persona", "list"], ["export-state", "--json"]] {
            let result = try await sandbox.run(arguments: arguments)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(result.stderr.isEmpty, "\(arguments): \(result.stderr)")
        }
        #expect(try await sandbox.run("persona", "list").stdout.contains("Alex"))
        let write = try await sandbox.run("persona", "add", "Blair")
        #expect(write.status == 73, "\(write)")
        #expect(write.stderrLines.count == 1, "\(write.stderr)")
        #expect(write.stderr.contains("cannot be written (Read-only file system)"), "\(write.stderr)")
        #expect(!write.stderr.contains("could not create"), "\(write.stderr)")
    }

    @Test func aDamagedProfileExits65() async throws {
        let sandbox = try CLISandbox()
        try FileManager.default.createDirectory(at: sandbox.profile, withIntermediateDirectories: true)
        try Data(repeating: 0x42, count: 4096).write(to: sandbox.profile.appendingPathComponent("proton.sqlite"))
        let result = try await sandbox.run("persona", "list")
        #expect(result.status == 65)
        #expect(result.stderrLines.count == 1)
    }

    @Test func helpIsWrittenForAPerson() async throws {
        let sandbox = try CLISandbox()
        let root = try await sandbox.run("--help")
        #expect(root.status == 0)
        for subcommand in ["init", "persona", "contacts", "show", "export-state"] {
            #expect(root.stdout.contains(subcommand), "\(subcommand)")
        }
        #expect(root.stdout.contains("PROTON_HOME"))
        let show = try await sandbox.run("show", "--help")
        #expect(show.status == 0)
        #expect(show.stdout.contains("--profile"))
        #expect(show.stdout.contains("safety number"))
    }
}
