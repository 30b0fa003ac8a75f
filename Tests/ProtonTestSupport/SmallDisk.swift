import Foundation

/// A tiny tmpfs mounted for one test, to fill a disk for real: a service or profile on it meets
/// ENOSPC exactly as on a full disk. Mounting needs root (CI and `make test` run as root); where
/// it is not possible, `isAvailable` is false and the tests that need it are not run.
public final class SmallDisk: @unchecked Sendable {
    public let url: URL

    public static let isAvailable: Bool = {
        guard let probe = try? SmallDisk(kilobytes: 64) else { return false }
        probe.unmount()
        return true
    }()

    public init(kilobytes: Int) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("small-disk-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let mount = ChildProcess()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0700", "tmpfs", url.path]
        mount.standardOutput = FileHandle.nullDevice
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: url)
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    deinit { unmount() }

    /// Fills what is left with one file, `filler`, which `makeRoom` deletes.
    public func fill() {
        let path = url.appendingPathComponent("filler").path
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { return }
        let chunk = Data(count: 4096)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        try? handle.close()
    }

    public func makeRoom() {
        try? FileManager.default.removeItem(at: url.appendingPathComponent("filler"))
    }

    private var mounted = true

    public func unmount() {
        guard mounted else { return }
        mounted = false
        let umount = ChildProcess()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = ["-l", url.path]
        try? umount.run()
        umount.waitUntilExit()
        try? FileManager.default.removeItem(at: url)
    }
}

/// A directory made read-only for real, by bind-mounting it read-only over itself (as a backup
/// mounted read-only would be). Needs root; `isAvailable` says whether it can be done here.
public final class ReadOnlyMount: @unchecked Sendable {
    public let url: URL
    private var mounted = false

    public static var isAvailable: Bool { SmallDisk.isAvailable }

    public init(_ url: URL) throws {
        self.url = url
        try Self.mount(["--bind", url.path, url.path])
        mounted = true
        try Self.mount(["-o", "remount,bind,ro", url.path])
    }

    deinit { unmount() }

    public func unmount() {
        guard mounted else { return }
        mounted = false
        try? Self.run("/bin/umount", ["-l", url.path])
    }

    private static func mount(_ arguments: [String]) throws { try run("/bin/mount", arguments) }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteNoPermission) }
    }
}
