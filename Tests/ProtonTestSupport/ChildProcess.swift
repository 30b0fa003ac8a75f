import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a child process the way the tests need, with the parts of `Process` they use, without
/// `Process.run()`.
///
/// On Linux, swift-corelibs-foundation's `Process.run()` scans `/proc/self/fd` to close every
/// descriptor in the child and copies each entry's whole 256-byte `d_name`, reading past the end
/// of glibc's directory buffer once the list no longer fits in it (swiftlang/
/// swift-corelibs-foundation#5472, in 6.3.1). The test process, with its in-process services
/// and many tests at once, holds 1,500 descriptors at times, and a run crashed with SIGSEGV
/// in `Process.run()` that way (in CI, and once in three full runs here). This posix_spawns
/// directly and lets glibc close the descriptors (`posix_spawn_file_actions_addclosefrom_np`).
///
/// Standard streams take a `FileHandle` or a `Pipe` as `Process` does; nil is /dev/null.
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    /// Called once, on a thread of its own, after the child exited.
    public var terminationHandler: (@Sendable (ChildProcess) -> Void)? {
        get { state.withLock { $0.handler } }
        set { state.withLock { $0.handler = newValue } }
    }

    private struct State {
        var pid: pid_t = 0
        var status: Int32?
        var signalled = false
        var handler: (@Sendable (ChildProcess) -> Void)?
    }

    private let state = Mutex(State())
    private let exitedCondition = NSCondition()

    public init() {}

    public var processIdentifier: Int32 { state.withLock { $0.pid } }
    public var isRunning: Bool { state.withLock { $0.pid != 0 && $0.status == nil } }
    /// The exit status, or the signal's number if a signal ended it (as `Process` reports it).
    public var terminationStatus: Int32 { state.withLock { $0.status ?? 0 } }
    public var terminatedBySignal: Bool { state.withLock { $0.signalled } }

    public func run() throws {
        guard let executable = executableURL?.path else { throw CocoaError(.fileNoSuchFile) }
        guard state.withLock({ $0.pid == 0 }) else { throw CocoaError(.executableLoad) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, as `Process` does: a ^C in the terminal stops the test run only.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))

        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        for (target, stream) in [(STDIN_FILENO, standardInput), (STDOUT_FILENO, standardOutput), (STDERR_FILENO, standardError)] {
            let source: Int32
            switch stream {
            case let pipe as Pipe:
                source = target == STDIN_FILENO ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle:
                source = handle.fileDescriptor
            default:
                source = null
            }
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        // Every descriptor from 3 up is closed in the child, so that no test's pipe or socket
        // leaks into another test's child (a leaked write end keeps a reader from ever seeing
        // the end of its pipe).
        let closeFrom = try Self.glibc("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self)
        try Self.check(closeFrom(&actions, 3))
        if let directory = currentDirectoryURL?.path {
            let changeDirectory = try Self.glibc("posix_spawn_file_actions_addchdir_np", as: ChangeDirectory.self)
            try Self.check(changeDirectory(&actions, directory))
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { variables.forEach { free($0) } }

        var spawned: pid_t = 0
        try Self.check(posix_spawn(&spawned, executable, &actions, &attributes, argv, variables))
        let pid = spawned
        state.withLock { $0.pid = pid }

        // The parent's copies of the child's ends, as `Process` closes them.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }

        let reaper = Thread { [self] in
            var status: Int32 = 0
            var waited: pid_t
            repeat { waited = waitpid(pid, &status, 0) } while waited == -1 && errno == EINTR
            // Not reaped (never expected): reported as a failure, never as exit 0.
            if waited != pid { status = 255 << 8 }
            // WIFSIGNALED / WTERMSIG / WEXITSTATUS, written out: the C macros are not imported.
            let signal = status & 0x7f
            let handler = state.withLock { state -> (@Sendable (ChildProcess) -> Void)? in
                state.signalled = signal != 0
                state.status = signal != 0 ? signal : (status >> 8) & 0xff
                return state.handler
            }
            exitedCondition.lock()
            exitedCondition.broadcast()
            exitedCondition.unlock()
            handler?(self)
        }
        reaper.start()
    }

    public func terminate() { signal(SIGTERM) }
    public func interrupt() { signal(SIGINT) }

    /// Signals the child unless it is known to have exited. Sent under the lock the reaper takes
    /// to record the exit, so the window in which the pid could already belong to another
    /// process is only the reaper's own, between `waitpid` and that lock.
    public func signal(_ number: Int32) {
        state.withLock { state in
            if state.status == nil, state.pid > 0 { kill(state.pid, number) }
        }
    }

    /// Blocks the calling thread until the child exited.
    public func waitUntilExit() {
        exitedCondition.lock()
        while isRunning { exitedCondition.wait() }
        exitedCondition.unlock()
    }

    /// Starts the child and waits for it to exit without holding a thread of Swift's
    /// concurrency pool. That pool has one thread per core — two on the build machines — and the
    /// services that tests start in-process answer on it: a test blocked in `waitUntilExit()`
    /// while its child talks to such a service (or two such tests at once) starved them until
    /// every HTTP deadline in the run expired.
    public func runUntilExit() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            terminationHandler = { _ in continuation.resume() }
            do {
                try run()
            } catch {
                terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    /// Waits for a child already started to exit, off the concurrency pool.
    public func exited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.waitUntilExit()
                continuation.resume()
            }
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// A glibc function that Swift's Glibc module does not import (glibc 2.29 and 2.34 added
    /// these file actions; Debian 12 has 2.36).
    private static func glibc<Function>(_ name: String, as type: Function.Type) throws -> Function {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { throw POSIXError(.ENOSYS) }
        return unsafeBitCast(symbol, to: type)
    }

    private static func check(_ result: Int32) throws {
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
    }
}
