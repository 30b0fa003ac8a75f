import Foundation
import ProtonTestSupport
import Testing

/// `make install` / `make uninstall` through `scripts/install`, with the debug binaries
/// (`make test` builds `generate-manual` beside `proton`), into a temporary prefix under a
/// staging DESTDIR as a package build would.
struct InstallTests {
    private static let packageRoot = ProtonBinary.packageRoot
    private static let installed = [
        "bin/proton", "share/bash-completion/completions/proton", "share/zsh/site-functions/_proton",
        "share/fish/vendor_completions.d/proton.fish", "share/man/man1/proton.1",
    ]

    private static func script(_ arguments: [String], prefix: String, destination: URL) throws -> (status: Int32, output: String) {
        let process = ChildProcess()
        process.executableURL = packageRoot.appendingPathComponent("scripts/install")
        process.arguments = arguments
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "PREFIX": prefix, "DESTDIR": destination.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func installPutsTheToolItsCompletionsAndItsManualInPlaceAndUninstallTakesThemAway() throws {
        let proton = try ProtonBinary.url()
        // `make test` builds it; alone: swift build --product generate-manual.
        let manual = try ProtonBinary.sibling("generate-manual")
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("proton-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        let root = staging.appendingPathComponent("opt/proton")

        let install = try Self.script(["install", proton.path, manual.path], prefix: "/opt/proton", destination: staging)
        #expect(install.status == 0, "\(install.output)")
        for file in Self.installed {
            let path = root.appendingPathComponent(file).path
            #expect(FileManager.default.fileExists(atPath: path), "\(file) was not installed: \(install.output)")
        }
        #expect(FileManager.default.isExecutableFile(atPath: root.appendingPathComponent("bin/proton").path))
        let page = try String(contentsOf: root.appendingPathComponent("share/man/man1/proton.1"), encoding: .utf8)
        #expect(page.contains(".Dt PROTON 1"), "\(page.prefix(300))")
        for subcommand in ["invite", "accept", "pair", "receive", "send", "block"] {
            #expect(page.contains(subcommand), "the manual does not mention \(subcommand)")
        }
        let bash = try String(contentsOf: root.appendingPathComponent("share/bash-completion/completions/proton"), encoding: .utf8)
        #expect(bash.contains("complete") && bash.contains("invite"))
        let fish = try String(contentsOf: root.appendingPathComponent("share/fish/vendor_completions.d/proton.fish"), encoding: .utf8)
        #expect(fish.contains("complete -c 'proton'") && fish.contains("'pair'"))

        let uninstall = try Self.script(["uninstall"], prefix: "/opt/proton", destination: staging)
        #expect(uninstall.status == 0, "\(uninstall.output)")
        for file in Self.installed {
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path), "\(file) is still there")
        }
        #expect(uninstall.output.components(separatedBy: "removed ").count == Self.installed.count + 1)
    }

    @Test func aRelativePrefixIsRefusedAndNothingIsInstalled() throws {
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("proton-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        let result = try Self.script(["install", "/nonexistent", "/nonexistent"], prefix: "usr/local", destination: staging)
        #expect(result.status == 64)
        #expect(result.output.contains("absolute"))
        #expect(!FileManager.default.fileExists(atPath: staging.path))
    }
}
