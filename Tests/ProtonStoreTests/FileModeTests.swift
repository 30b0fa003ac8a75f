import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonStore

#if canImport(Glibc)
    import Glibc
#endif

struct FileModeTests {
    @Test func profileDirectoryAndDatabaseFilesArePrivate() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        // A permissive umask must not widen the modes.
        let previous = umask(0)
        let store: ProfileStore
        do {
            defer { umask(previous) }
            store = try ProfileStore.create(
                at: directory, persona: try Persona(displayName: "Alex", random: SystemRandom()), now: testNow)
            try store.addPersona(try Persona(displayName: "Alex again", random: SystemRandom()))
        }

        let database = ProfileStore.databaseURL(in: directory)
        #expect(try posixPermissions(directory) == 0o700)
        #expect(try posixPermissions(database) == 0o600)
        for suffix in ["-wal", "-shm"] {
            let file = URL(fileURLWithPath: database.path + suffix)
            #expect(FileManager.default.fileExists(atPath: file.path), "\(suffix) should exist while the store is open")
            #expect(try posixPermissions(file) == 0o600, "\(suffix)")
        }
        try store.close()
    }

    @Test func openingNarrowsWidenedModes() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        try ProfileStore.create(at: directory).close()
        let database = ProfileStore.databaseURL(in: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: database.path)

        let store = try ProfileStore.open(at: directory)
        #expect(try posixPermissions(directory) == 0o700)
        #expect(try posixPermissions(database) == 0o600)
        try store.close()
    }
}

struct SharedDirectoryTests {
    @Test func aDirectoryHoldingOtherFilesKeepsItsMode() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("shared")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)

        let store = try ProfileStore.create(at: directory)
        #expect(try posixPermissions(directory) == 0o755)
        #expect(try posixPermissions(ProfileStore.databaseURL(in: directory)) == 0o600)
        try store.close()
    }
}
