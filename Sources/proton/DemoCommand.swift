import ArgumentParser
import Dispatch
import Foundation

/// `proton demo`: the whole lifecycle, told through the real commands run as child processes.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole lifecycle through the real commands and print it as a story.",
        discussion: """
            Starts a receiving service, two sending services and a brokered attesting directory \
            (example.org) on loopback, as 'proton serve' child processes with SQLite in a \
            temporary directory, and then runs the commands a person would type, each as a child \
            process with --profile: Alice and Bob create profiles, Alice registers \
            alice@example.org, prints an invite that Bob accepts from its text, they talk through \
            the agents while an address rotates and a sending service fails, Bob verifies \
            Alice's name, Carol publishes a key package for carol@example.org and Bob connects \
            to her through it, and Alice blocks Bob. Each step prints the command line and its outcome, \
            and each outcome is checked. Nothing outside the temporary directory is touched.

            Exits with status 70 and names the step when an outcome is wrong (a message lost or \
            duplicated, a name that does not verify, a block that does not hold). The services \
            are stopped on every path, Ctrl-C included.
            """)

    @Option(help: "Messages each way in the conversation (at least 3: one rotation, one failover).")
    var messages: Int = 4

    @Flag(help: "Keep the temporary directory (profiles, service data, each command's output) instead of deleting it.")
    var keep = false

    @Flag(help: "Show each command's whole output and exit status, not only its outcome.")
    var verbose = false

    func validate() throws {
        guard (3...100).contains(messages) else { throw ValidationError("--messages must be between 3 and 100.") }
    }

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("proton-demo-\(UUID().uuidString.prefix(8))")
        let shell = try DemoShell(root: root)
        let keep = keep
        let cleanUp: @Sendable () -> Void = {
            shell.terminateAll()
            if keep {
                FileHandle.standardOutput.write(Data("\nProfiles, service data and command output kept in \(root.path)\n".utf8))
            } else {
                try? FileManager.default.removeItem(at: root)
            }
        }
        let interruptions = Self.onInterrupt {
            shell.interrupted = true
            FileHandle.standardError.write(Data("\nproton: The demo was interrupted; stopping its services.\n".utf8))
            cleanUp()
            Foundation.exit(130)
        }
        defer { for source in interruptions { source.cancel() } }

        let story = DemoStory(shell: shell, transcript: DemoTranscript(shell: shell, verbose: verbose), messagesEachWay: messages)
        do {
            try await story.run()
        } catch _ where shell.interrupted {
            // The children were ended by the interrupt handler, which exits with 130 when done.
            try? await Task.sleep(for: .seconds(60))
            Foundation.exit(130)
        } catch let failure as DemoFailure {
            cleanUp()
            throw CommandFailure(status: .software, message: failure.description)
        } catch {
            cleanUp()
            throw error
        }
        cleanUp()
    }

    /// SIGINT and SIGTERM run `handler` on a queue of their own instead of ending the process
    /// with its children still running.
    private static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}
