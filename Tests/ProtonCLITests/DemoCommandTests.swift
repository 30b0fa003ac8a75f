import Foundation
import ProtonTestSupport
import Testing

/// `proton demo` runs the real commands as child processes; these tests run it whole.
struct DemoCommandTests {
    @Test func theDemoTellsEveryStepsOutcomeAndLeavesNoProcessBehind() async throws {
        let sandbox = try CLISandbox()
        // The demo's temporary directory goes inside the sandbox, so its processes can be found by path.
        let result = try await sandbox.run("demo", "--messages", "3", "--keep", environment: ["TMPDIR": sandbox.root.path])
        #expect(result.status == 0, "\(result.stderr)")
        let transcript = result.stdout
        for outcome in [
            "== 1. Services and the directory start on loopback ==",
            "→ listening on http://127.0.0.1:",
            "→ its verifier key, which clients pin: example.org/directory+",
            "→ alice@example.org is attested for Alice's key at log index 0",
            "$ proton invite --profile $DEMO/alice",
            "→ Invite from Alice, valid until",
            "→ the text under the code, which Bob pastes:",
            "$ proton accept --profile $DEMO/bob",
            "→ Bob: \"Hi Alice, it's Bob.\"",
            "the same safety number and relationship: they match",
            "→ Alice: \"Alice's message 3\"",
            "→ Bob: \"Bob's message 3\"",
            "$ proton rotate --profile $DEMO/bob Alice",
            "→ Bob's send agent failed over to his second sending service",
            "every message arrived exactly once, in order",
            "→ Alice is alice@example.org: the attestation of her key verifies",
            "shows Alice as \"verified alice@example.org\"",
            "== 7. Bob connects to carol@example.org through the brokered directory ==",
            "$ proton block --profile $DEMO/alice Bob",
            "→ 410 Gone from the receiving service: this contact has retired that address",
            "→ nothing reaches Alice",
            "shows Bob as blocked",
            "Every step's outcome was as expected",
        ] {
            #expect(transcript.contains(outcome), "the transcript lacks \(outcome)")
        }
        // The QR code is drawn in half blocks, or in '#' where the locale is not UTF-8 (as here).
        #expect(transcript.contains("████████") || transcript.contains("########"))
        for outcome in [
            "$ proton directory publish --profile $DEMO/carol",
            "$ proton connect --profile $DEMO/bob carol@example.org",
            "Carol's receive agent completed the relationship: the same safety number on her screen",
            "Bob now writes to an address Carol made for him alone",
            "shows Carol as \"verified carol@example.org\"",
        ] {
            #expect(transcript.contains(outcome), "the transcript lacks \(outcome)")
        }
        #expect(!transcript.contains("not available in this build"))
        #expect(transcript.contains("Profiles, service data and command output kept in \(sandbox.root.path)"))
        #expect(Self.processes(mentioning: sandbox.root.path).isEmpty)
    }

    @Test func anInterruptedDemoStopsItsServices() async throws {
        let sandbox = try CLISandbox()
        let output = sandbox.root.appendingPathComponent("demo-output")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = ChildProcess()
        process.executableURL = try CLISandbox.executable()
        // The most messages the demo takes, so that it is still running when the interrupt comes.
        process.arguments = ["demo", "--messages", "100"]
        process.environment = sandbox.baseEnvironment.merging(["TMPDIR": sandbox.root.path]) { _, new in new }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Interrupt once the services are up and the profiles are being made. A thread of its own
        // watches the output and sends the interrupt: this test's task can wait seconds for a
        // thread of the concurrency pool on a loaded machine, long enough for the demo to finish.
        let watch = await Self.interrupt(process, once: "== 2.", appearsIn: output, servicesMentioning: sandbox.root.path)
        let text = String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self)
        #expect(watch.sawMarker, "the demo never reached step 2: \(text)")
        #expect(watch.servicesBefore > 0, "no service was running before the interrupt: \(text)")
        await process.exited()
        #expect(process.terminationStatus == 130, "\(String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self))")
        #expect(Self.processes(mentioning: sandbox.root.path).isEmpty)
        let demoDirectories = try FileManager.default.contentsOfDirectory(atPath: sandbox.root.path).filter { $0.hasPrefix("proton-demo-") }
        #expect(demoDirectories.isEmpty, "the demo's temporary directory was left: \(demoDirectories)")
    }

    /// Polls `file` on a thread of its own until it contains `marker` (60 s at most), counts the
    /// processes mentioning `path` at that moment and then interrupts `process`.
    static func interrupt(_ process: ChildProcess, once marker: String, appearsIn file: URL, servicesMentioning path: String) async
        -> (sawMarker: Bool, servicesBefore: Int)
    {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var saw = false
                for _ in 0..<3000 where process.isRunning {
                    let text = String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
                    if text.contains(marker) {
                        saw = true
                        break
                    }
                    usleep(20_000)
                }
                let services = processes(mentioning: path).count
                if process.isRunning { process.interrupt() }
                continuation.resume(returning: (saw, services))
            }
        }
    }

    /// The pids of running processes whose command line contains `text`.
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return commandLine.contains(text) ? pid : nil
        }
    }
}
