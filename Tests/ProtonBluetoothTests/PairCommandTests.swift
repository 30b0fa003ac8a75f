import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `proton pair` as a person meets it on this machine: a kernel without Bluetooth. Runs the built
/// binary; real RFCOMM pairing runs in Hardware/vm-test.
@Suite("proton pair without Bluetooth", .serialized)
struct PairCommandTests {
    @Test func withoutAReceivingServiceItSaysHowToAddOneBeforeTouchingTheRadio() async throws {
        let sandbox = try PairSandbox()
        try await sandbox.expectSuccess("init", "--name", "Alice")
        for mode in [["--listen"], ["--connect", "00:1A:7D:DA:71:13"], ["--scan"]] {
            let result = try await sandbox.run(["pair"] + mode)
            #expect(result.status == 69)
            #expect(result.stderrLines.count == 1)
            #expect(result.stderr.contains("proton services add receiving"), "\(result.stderr)")
            #expect(!result.stderr.contains("Bluetooth"))
        }
    }

    @Test(.enabled(if: kernelHasNoBluetooth, "this kernel supports Bluetooth"))
    func withoutBluetoothInTheKernelItSaysSoInOneSentenceAndExits69() async throws {
        let sandbox = try PairSandbox()
        try await sandbox.expectSuccess("init", "--name", "Alice")
        let service = try ReceivingServiceProcess(data: sandbox.root.appendingPathComponent("receiving"))
        defer { service.stop() }
        try await sandbox.expectSuccess("services", "add", "receiving", service.url)
        for mode in [["--listen"], ["--listen", "--channel", "5"], ["--connect", "00:1A:7D:DA:71:13"], ["--scan", "--yes"],
                     ["--connect", "00:1A:7D:DA:71:13", "--channel", "3", "--json"]] {
            let result = try await sandbox.run(["pair"] + mode)
            #expect(result.status == 69, "\(mode): \(result.stderr)")
            #expect(result.stderrLines.count == 1, "\(mode): \(result.stderr)")
            #expect(result.stderr.hasPrefix("proton: This system has no Bluetooth support"), "\(result.stderr)")
            #expect(result.stdout.isEmpty || !mode.contains("--json"))
        }
        let contacts = try await sandbox.run(["contacts", "--json"])
        #expect(contacts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "nothing was stored")
    }

    @Test(arguments: [
        (["pair"], "Choose exactly one"),
        (["pair", "--listen", "--scan"], "Choose exactly one"),
        (["pair", "--listen", "--connect", "00:11:22:33:44:55"], "Choose exactly one"),
        (["pair", "--connect", "00:11:22:33:44"], "is not a Bluetooth address"),
        (["pair", "--connect", "zz:11:22:33:44:55"], "is not a Bluetooth address"),
        (["pair", "--listen", "--channel", "0"], "channels are 1 to 30"),
        (["pair", "--connect", "00:11:22:33:44:55", "--channel", "31"], "channels are 1 to 30"),
        (["pair", "--scan", "--channel", "3"], "a scan finds the channel itself"),
        (["pair", "--listen", "--timeout", "0"], "--timeout must be"),
        (["pair", "--scan", "--inquiry-seconds", "100"], "--inquiry-seconds must be"),
    ])
    func refusesBadOptionsWithUsageStatus(_ arguments: [String], _ expected: String) async throws {
        let sandbox = try PairSandbox()
        let result = try await sandbox.run(arguments)
        #expect(result.status == 64)
        #expect(result.stderrLines.count == 1)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }

    @Test func withoutAProfileItSaysSo() async throws {
        let sandbox = try PairSandbox()
        let result = try await sandbox.run(["pair", "--listen"])
        #expect(result.status == 66)
        #expect(result.stderr.contains("proton init"))
    }

    @Test func anUnknownPersonaIsAUsageError() async throws {
        let sandbox = try PairSandbox()
        try await sandbox.expectSuccess("init", "--name", "Alice")
        let result = try await sandbox.run(["pair", "--listen", "--persona", "Zed"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("No persona is named \"Zed\""))
    }
}
