import Foundation
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
}
