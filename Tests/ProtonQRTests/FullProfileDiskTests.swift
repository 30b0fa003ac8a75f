import Foundation
import GRDB
import ProtonTestSupport
import Testing

/// A profile whose disk fills up: `receive` must say so and fail (exit 74) instead of printing
/// a note and exiting 0, and what could not be recorded must stay at the receiving service and
/// arrive, once, when there is room again. Real processes, a real full tmpfs.
@Suite("a full profile disk", .serialized)
struct FullProfileDiskTests {
    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a small tmpfs"))
    func receiveOnAFullDiskFailsAndTheMessageArrivesOnceThereIsRoom() async throws {
        let sandbox = try await InviteSandbox.paired()
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Welcome, Blair."))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        let disk = try SmallDisk(kilobytes: 4096)
        defer { disk.unmount() }
        let onDisk = disk.url.appendingPathComponent("Alex", isDirectory: true)
        try FileManager.default.copyItem(at: sandbox.profile("Alex"), to: onDisk)
        let alex: [String: String?] = ["PROTON_HOME": onDisk.path]
        try await sandbox.require(sandbox.run("Alex", "contacts", environment: alex))

        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "Written while your disk was full."))
        disk.fill()
        let full = try await sandbox.run("Alex", "receive", environment: alex)
        #expect(full.status == 74, "\(full)")
        #expect(full.stderr.contains("disk holding the profile is full"), "\(full.stderr)")
        #expect(!full.stdout.contains("Written while your disk was full."))

        // Sending fails the same way, and says why.
        let send = try await sandbox.run("Alex", "send", "Blair", "Can you read this?", environment: alex)
        #expect(send.status == 74, "\(send)")
        #expect(send.stderr.contains("disk holding the profile is full"), "\(send.stderr)")

        disk.makeRoom()
        let later = try await sandbox.require(sandbox.run("Alex", "receive", environment: alex))
        #expect(later.stdout.components(separatedBy: "Blair: Written while your disk was full.").count == 2, "\(later.stdout)")
        let again = try await sandbox.require(sandbox.run("Alex", "receive", environment: alex))
        #expect(!again.stdout.contains("Written while your disk was full."))
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Room again.", environment: alex))
        #expect(try await sandbox.require(sandbox.run("Blair", "receive")).stdout.contains("Alex: Room again."))
    }

    /// The profile's write-ahead log deleted under `receive --watch`: the watcher writes what
    /// the deleted log held back into the database file (it still has the log open) and stops
    /// loudly (exit 74) instead of writing on into the unlinked file; nothing is lost, and
    /// what arrived meanwhile is still at the service for the next run. (A probe saw
    /// `contacts` answer "No contacts yet." after such a deletion.)
    @Test func aWriteAheadLogDeletedUnderTheWatcherStopsIt() async throws {
        let sandbox = try await InviteSandbox.paired()
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Welcome, Blair."))
        try await sandbox.require(sandbox.run("Blair", "receive"))

        // Each command leaves the database file whole (a TRUNCATE checkpoint when it closes):
        // the file alone, copied as a backup would be, holds the relationship.
        let mainOnly = sandbox.root.appendingPathComponent("main-only.sqlite")
        try FileManager.default.copyItem(at: sandbox.profile("Alex").appendingPathComponent("proton.sqlite"), to: mainOnly)
        let copied = try await DatabaseQueue(path: mainOnly.path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM protons") ?? 0 }
        #expect(copied == 1, "the database file alone holds \(copied) relationships")

        let watcher = ChildProcess()
        watcher.executableURL = try InviteSandbox.executable()
        watcher.arguments = ["receive", "--watch", "--wait", "1"]
        watcher.environment = [
            "PATH": "/usr/bin:/bin", "HOME": sandbox.root.path, "PROTON_HOME": sandbox.profile("Alex").path,
        ]
        let errors = sandbox.root.appendingPathComponent("watch-errors")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: errors)
        watcher.standardError = errorHandle
        try watcher.run()
        let wal = sandbox.profile("Alex").appendingPathComponent("proton.sqlite-wal")
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: wal.path) { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .seconds(1))
        try FileManager.default.removeItem(at: wal)
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "Sent after the log was gone."))

        for _ in 0..<200 where watcher.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        if watcher.isRunning { watcher.signal(SIGKILL) }
        await watcher.exited()
        try errorHandle.close()
        let stderr = String(decoding: try Data(contentsOf: errors), as: UTF8.self)
        #expect(watcher.terminationStatus == 74, "\(watcher.terminationStatus): \(stderr)")
        #expect(stderr.contains("proton.sqlite-wal was deleted or replaced"), "\(stderr)")

        #expect(stderr.contains("written back into the database file"), "\(stderr)")
        // Nothing was lost: the relationship is there, and the message arrives, once.
        let later = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(later.stdout.components(separatedBy: "Blair: Sent after the log was gone.").count == 2, "\(later.stdout) \(later.stderr)")
        let again = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(!again.stdout.contains("Sent after the log was gone."))
    }
}
