import Foundation
import ProtonCore
import ProtonCrypto
import ProtonTestSupport
import Testing

@testable import ProtonStore

/// A profile that cannot be written (a backup mounted read-only) is read by the commands that
/// only read, without a file created or changed, and every write refuses.
@Suite(.enabled(if: ReadOnlyMount.isAvailable, "needs root to mount"))
struct ReadOnlyProfileTests {
    @Test func aProfileThatCannotBeWrittenIsReadAndNeverWritten() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        let store = try ProfileStore.create(at: directory, persona: try Persona(displayName: "Alex", random: SystemRandom()), now: testNow)
        try store.close()
        let database = try Data(contentsOf: ProfileStore.databaseURL(in: directory))

        let mount = try ReadOnlyMount(directory)
        defer { mount.unmount() }
        #expect {
            try ProfileStore.open(at: directory)
        } throws: { error in
            guard case StoreError.notWritable = error else { return false }
            return true
        }
        let reader = try ProfileStore.openForReading(at: directory)
        #expect(reader.isReadOnly)
        #expect(try reader.personas().map(\.displayName) == ["Alex"])
        #expect(try reader.profileInfo().created == testNow)
        #expect {
            try reader.addPersona(try Persona(displayName: "Blair", random: SystemRandom()))
        } throws: { error in
            guard case StoreError.notWritable(_, let reason) = error else { return false }
            return reason.contains("reading only")
        }
        try reader.close()
        mount.unmount()

        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [ProfileStore.databaseFileName])
        #expect(try Data(contentsOf: ProfileStore.databaseURL(in: directory)) == database)
    }

    /// A write-ahead log that still holds commits (its writer stopped without closing the
    /// profile, and the copy was then mounted read-only, without the log's index) cannot be
    /// read without write access: the profile is refused, not shown without them.
    @Test func aLogStillHoldingCommitsIsNotReadWithoutThem() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        let writer = try ProfileStore.create(at: directory, persona: try Persona(displayName: "Alex", random: SystemRandom()), now: testNow)
        try writer.addPersona(try Persona(displayName: "Blair", random: SystemRandom()))
        let database = ProfileStore.databaseURL(in: directory)
        var log = stat()
        #expect(stat(database.path + "-wal", &log) == 0 && log.st_size > 0)
        // What a writer that was killed leaves, copied as a backup would copy it.
        let copy = temp.child("copy")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: false)
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(atPath: database.path + suffix, toPath: ProfileStore.databaseURL(in: copy).path + suffix)
        }
        try writer.close()

        let mount = try ReadOnlyMount(copy)
        #expect {
            try ProfileStore.openForReading(at: copy)
        } throws: { error in
            guard case StoreError.notWritable(_, let reason) = error else { return false }
            return reason.contains("write-ahead log")
        }
        mount.unmount()
        let reader = try ProfileStore.openForReading(at: copy)
        #expect(!reader.isReadOnly)
        #expect(try reader.personas().count == 2)
        try reader.close()
    }

    /// Opened while another process holds the profile (its log and index exist), SQLite reads
    /// through them; the first write is refused as one to a profile that cannot be written.
    @Test func aWriteToAProfileOpenedBesideItsWriterSaysItCannotBeWritten() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        let writer = try ProfileStore.create(at: directory, persona: try Persona(displayName: "Alex", random: SystemRandom()), now: testNow)
        try writer.addPersona(try Persona(displayName: "Blair", random: SystemRandom()))
        let mount = try ReadOnlyMount(directory)
        defer { mount.unmount() }
        let reader = try ProfileStore.openForReading(at: directory)
        #expect(try reader.personas().count == 2)
        #expect {
            try reader.addPersona(try Persona(displayName: "Casey", random: SystemRandom()))
        } throws: { error in
            guard case StoreError.notWritable = error else { return false }
            return true
        }
        try reader.close()
        mount.unmount()
        try writer.close()
    }

    /// Read as immutable, SQLite keeps pages across reads without a lock: a file another
    /// process changes meanwhile (through a mount that can write it) is refused, never read as
    /// a mix of old and new pages.
    @Test func aFileChangedWhileBeingReadIsRefused() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        try ProfileStore.create(at: directory, persona: try Persona(displayName: "Alex", random: SystemRandom()), now: testNow).close()
        let reader = try ProfileStore.openReadOnly(at: directory, passphrase: nil, notWritable: (directory.path, "test"))
        #expect(try reader.personas().count == 1)

        let writer = try ProfileStore.open(at: directory)
        try writer.addPersona(try Persona(displayName: "Blair", random: SystemRandom()))
        try writer.close()
        #expect {
            try reader.personas()
        } throws: { error in
            guard case StoreError.filesReplaced(let what) = error else { return false }
            return what.contains("changed while it was being read")
        }
        try reader.close()
    }
}
