import Foundation

/// Runs this very `proton` executable as child processes, the way a person would type the
/// commands: services in the background, every other command to completion, each one's output
/// in files under the demo directory's `logs/`. Every child it starts is tracked, so that
/// `terminateAll()` can end them on any path, a signal included.
final class DemoShell: @unchecked Sendable {
    /// What one command printed and how it exited.
    struct Result {
        let arguments: [String]
        let status: Int32
        let stdout: String
        let stderr: String

        /// The first line of standard output, or of standard error when there is none.
        var summary: String {
            let line = stdout.split(separator: "\n").first ?? stderr.split(separator: "\n").first ?? ""
            return String(line).trimmingCharacters(in: .whitespaces)
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: Data(stdout.utf8))
        }
    }

    /// A `proton serve` child and what it printed on start.
    struct Service {
        let kind: String
        let url: String
        /// `serve directory` prints its C2SP verifier key after the address.
        let verifierKey: String?
        let pid: Int32
        let arguments: [String]
    }

    let executable: URL
    let root: URL
    let logs: URL
    /// How long a command may run before the demo gives up on it.
    let commandLimit: Duration = .seconds(60)
    private let environment: [String: String]
    private let lock = NSLock()
    private var children: [Int32: Process] = [:]
    private var serial = 0

    init(root: URL) throws {
        self.root = root
        logs = root.appendingPathComponent("logs", isDirectory: true)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        executable = Self.ownExecutable()
        // The children must use the demo's profiles alone, never the caller's.
        var environment = ProcessInfo.processInfo.environment
        for key in ["PROTON_HOME", "PROTON_PASSPHRASE", "XDG_DATA_HOME"] { environment[key] = nil }
        self.environment = environment
    }

    /// `/proc/self/exe` names the running binary even when it was started through a symlink or
    /// a relative path; the command line is the fallback.
    static func ownExecutable() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    }

    // MARK: - Commands

    /// Runs `proton arguments` to completion.
    func run(_ arguments: [String]) async throws -> Result {
        let (process, out, err) = try start(arguments, name: "\(nextSerial())-\(arguments.first ?? "proton")")
        let limit = commandLimit
        let watchdog = Task {
            try await Task.sleep(for: limit)
            if process.isRunning { process.terminate() }
        }
        await Self.waitForExit(process)
        watchdog.cancel()
        forget(process)
        return Result(
            arguments: arguments, status: process.terminationStatus,
            stdout: String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self))
    }

    // MARK: - Services

    /// Starts `proton serve KIND ... --listen 127.0.0.1:0` and waits for the address it prints.
    func startService(_ kind: String, name: String, extra: [String] = []) async throws -> Service {
        let data = root.appendingPathComponent("services/\(name)", isDirectory: true)
        let arguments = ["serve", kind] + extra + ["--listen", "127.0.0.1:0", "--data", data.path]
        let (process, out, err) = try start(arguments, name: "serve-\(name)")
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self)
            let url = Self.value(after: "listening on ", in: text)
            let key = Self.value(after: "verifier key ", in: text)
            if let url, kind != "directory" || key != nil {
                return Service(kind: kind, url: url, verifierKey: key, pid: process.processIdentifier, arguments: arguments)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let reason = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
            .split(separator: "\n").last.map(String.init) ?? "no output"
        stop(pid: process.processIdentifier)
        throw DemoShellError(message: "'proton serve \(kind)' did not start listening (\(reason))")
    }

    /// Stops one child with SIGTERM (SIGKILL after five seconds) and waits for it.
    func stop(pid: Int32) {
        guard let process = lock.withLock({ children[pid] }) else { return }
        Self.terminate([process], grace: .seconds(5))
        forget(process)
    }

    /// Set when the demo is interrupted: a command failing then is the interruption, not an outcome.
    var interrupted: Bool {
        get { lock.withLock { wasInterrupted } }
        set { lock.withLock { wasInterrupted = newValue } }
    }
    private var wasInterrupted = false

    /// Ends every child still running: SIGTERM, then SIGKILL for those that linger. Safe to call
    /// from a signal handler's queue and more than once.
    func terminateAll(grace: Duration = .seconds(5)) {
        let running = lock.withLock { Array(children.values) }
        Self.terminate(running, grace: grace)
        lock.withLock { children.removeAll() }
    }

    // MARK: - Display

    /// The command line as a person would type it: the demo directory as `$DEMO`, quoted where
    /// needed, and long arguments (an invite's text) cut short.
    func display(_ arguments: [String]) -> String {
        let words = arguments.map { argument -> String in
            var word = argument.replacingOccurrences(of: root.path, with: "$DEMO")
            if word.count > 40 { word = String(word.prefix(24)) + "…" }
            let bare = word.hasPrefix("$DEMO") ? String(word.dropFirst(5)) : word
            let plain = bare.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@+=…".contains($0) }
            return plain && !word.isEmpty ? word : "\"\(word)\""
        }
        return (["proton"] + words).joined(separator: " ")
    }

    // MARK: - Processes

    private func nextSerial() -> String {
        lock.withLock {
            serial += 1
            return String(format: "%03d", serial)
        }
    }

    private func start(_ arguments: [String], name: String) throws -> (Process, out: URL, err: URL) {
        let out = logs.appendingPathComponent("\(name).out")
        let err = logs.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = root
        process.standardInput = FileHandle.nullDevice
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        try lock.withLock {
            // After an interrupt nothing new starts: the handler may already have ended the others.
            guard !wasInterrupted else { throw DemoShellError(message: "the demo was interrupted") }
            try process.run()
            children[process.processIdentifier] = process
        }
        return (process, out, err)
    }

    private func forget(_ process: Process) {
        _ = lock.withLock { children.removeValue(forKey: process.processIdentifier) }
    }

    private static func waitForExit(_ process: Process) async {
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func terminate(_ processes: [Process], grace: Duration) {
        for process in processes where process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + grace
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline { usleep(20_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in processes { process.waitUntilExit() }
    }

    private static func value(after prefix: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}

struct DemoShellError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
