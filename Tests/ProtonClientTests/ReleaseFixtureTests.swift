import Foundation
import Glibc
import ProtonClient
import ProtonCore
import ProtonCrypto
import ProtonStore
import Testing

/// Profiles written by the previous release (`Tests/Fixtures/release-1-profiles.tar.gz`, made
/// with `scripts/make-profile-fixture`: format 2, services.json and directories.json beside
/// the database) open with this one, which takes both files into the database and keeps every
/// relationship, message, service and pinned directory.
struct ReleaseFixtureTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/release-1-profiles.tar.gz")

    /// The fixture unpacked in a fresh temporary directory.
    static func unpacked() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ReleaseFixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", fixture.path, "-C", root.path]
        try tar.run()
        tar.waitUntilExit()
        try #require(tar.terminationStatus == 0)
        return root
    }

    @Test func aProfileOfThePreviousReleaseMigratesAndKeepsEverything() async throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(at: root) }
        let aliceDirectory = root.appendingPathComponent("alice")
        let bobDirectory = root.appendingPathComponent("bob")
        #expect(FileManager.default.fileExists(atPath: aliceDirectory.appendingPathComponent("services.json").path))

        let alice = try Profile.open(at: aliceDirectory, passphrase: nil)
        defer { alice.close() }
        let bob = try Profile.open(at: bobDirectory, passphrase: nil)
        defer { bob.close() }

        // The store is migrated to this release's format, and the files are taken in and gone.
        #expect(try alice.store.profileInfo().formatVersion == 4)
        for directory in [aliceDirectory, bobDirectory] {
            for file in ["services.json", "directories.json"] {
                #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file) was not taken in")
            }
        }

        // Services: one of each, with the receiving service's pinned key.
        for profile in [alice, bob] {
            let services = try await profile.storedServices()
            #expect(services.sending.count == 1 && services.receiving.count == 1)
            #expect(try services.receiving[0].key().rawRepresentation.count == 32)
            try await profile.checkServices()
        }

        // The relationship, both ways, opened from its sealed state, with every message.
        let bobAtAlice = try await alice.contact(alice.contact(matching: "Bob").id)
        let aliceAtBob = try await bob.contact(bob.contact(matching: "Alice").id)
        #expect(bobAtAlice.proton.relationshipID == aliceAtBob.proton.relationshipID)
        #expect(bobAtAlice.proton.safetyNumber.description == aliceAtBob.proton.safetyNumber.description)
        #expect(bobAtAlice.loggedMessages == 3)
        #expect(aliceAtBob.loggedMessages == 3)

        // The pinned directory, Alice's registered name, and Bob's stored attestation of it,
        // which still verifies offline against the pinned key.
        let aliceTrust = try await alice.directoryTrust()
        #expect(aliceTrust.directories.map(\.namespace) == ["example.org"])
        #expect(aliceTrust.registered?.map(\.qualifiedName) == ["alice@example.org"])
        let bobTrust = try await bob.directoryTrust()
        #expect(bobTrust.directories.count == 1)
        #expect(bobTrust.directories[0].checkpoint != nil)
        #expect(bobTrust.verifiedName(of: aliceAtBob.proton.peerIdentity, now: Date()) == "alice@example.org")

        // A write goes to the database, and a second open reads the same.
        try await alice.removeService(uri: try await alice.storedServices().sending[0].uri)
        alice.close()
        let reopened = try Profile.open(at: aliceDirectory, passphrase: nil)
        defer { reopened.close() }
        #expect(try await reopened.storedServices().sending.isEmpty)
        #expect(try await reopened.directoryTrust().directories.count == 1)
    }

    /// The relationship the previous release stored (its ratchet state without KEM state)
    /// keeps working both ways and takes up ML-KEM steps at its next DH step: within two round
    /// trips both sides' chains carry KEM fields and require them.
    @Test func itsRelationshipUpgradesToKEMStepsAtItsNextDHStep() async throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(at: root) }
        let alice = try Profile.open(at: root.appendingPathComponent("alice"), passphrase: nil)
        defer { alice.close() }
        let bob = try Profile.open(at: root.appendingPathComponent("bob"), passphrase: nil)
        defer { bob.close() }
        var atAlice = try await alice.contact(alice.contact(matching: "Bob").id).proton
        var atBob = try await bob.contact(bob.contact(matching: "Alice").id).proton
        #expect(!atAlice.ratchetIsPostQuantum && !atBob.ratchetIsPostQuantum)
        let now = Date()
        var versions: [UInt8] = []
        for round in 0..<3 {
            let toBob = try atAlice.seal(Array("a\(round)".utf8), now: now, random: SystemRandom())
            let toAlice: Proton.OutgoingMessage
            #expect(try atBob.open(toBob.ciphertext, at: toBob.routes[0].address, now: now, random: SystemRandom()).body == Array("a\(round)".utf8))
            toAlice = try atBob.seal(Array("b\(round)".utf8), now: now, random: SystemRandom())
            #expect(try atAlice.open(toAlice.ciphertext, at: toAlice.routes[0].address, now: now, random: SystemRandom()).body == Array("b\(round)".utf8))
            versions += [toBob.ciphertext[1], toAlice.ciphertext[1]]
        }
        #expect(versions.first == 2, "the chain stored by the previous release is classical")
        #expect(Array(versions.suffix(2)) == [3, 3])
        #expect(atAlice.ratchetIsPostQuantum && atBob.ratchetIsPostQuantum)
    }

    /// A file an older copy left beside a migrated profile never replaces what is stored; it
    /// is kept, renamed, not taken in.
    @Test func anOlderFileNeverReplacesWhatIsStored() async throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(at: root) }
        let bobDirectory = root.appendingPathComponent("bob")
        let store = try ProfileStore.open(at: bobDirectory)
        let stored = try #require(try store.document(.directoryTrust))
        let older = Data("{\"directories\":[],\"bundles\":[]}".utf8)
        try older.write(to: bobDirectory.appendingPathComponent("directories.json"))
        #expect(try store.document(.directoryTrust) == stored)
        #expect(!FileManager.default.fileExists(atPath: bobDirectory.appendingPathComponent("directories.json").path))
        #expect(FileManager.default.contents(atPath: bobDirectory.appendingPathComponent("directories.json.superseded").path) == older)
        try store.close()
    }

    /// A profile whose services.json was damaged before the upgrade: the file is not taken
    /// in, it stays, the error names it, and removing it mends the profile.
    @Test func aDamagedFileStaysAndIsNamed() async throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(at: root) }
        let aliceDirectory = root.appendingPathComponent("alice")
        let file = aliceDirectory.appendingPathComponent("services.json")
        try Data("{\"sending\": [".utf8).write(to: file)
        let alice = try Profile.open(at: aliceDirectory, passphrase: nil)
        await #expect {
            _ = try await alice.storedServices()
        } throws: { error in
            if case ProfileError.agent(.configuration(let path, _)) = error { path == file.path } else { false }
        }
        #expect(FileManager.default.fileExists(atPath: file.path))
        alice.close()
        try FileManager.default.removeItem(at: file)
        let mended = try Profile.open(at: aliceDirectory, passphrase: nil)
        defer { mended.close() }
        #expect(try await mended.storedServices().receiving.isEmpty)
        try await mended.addService(.sending, uri: "http://127.0.0.1:9")
        #expect(try await mended.storedServices().sending.count == 1)
    }

    /// A link or a FIFO planted where an earlier version kept a file is refused: never
    /// followed (the target's bytes are not copied into the profile), never waited on.
    @Test func aPlantedLinkOrFIFOIsRefusedNotFollowed() async throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(at: root) }
        let aliceDirectory = root.appendingPathComponent("alice")
        let secret = root.appendingPathComponent("secret")
        try Data("{\"sending\":[],\"receiving\":[]}".utf8).write(to: secret)
        for name in ["services.json", "directories.json"] { try FileManager.default.removeItem(at: aliceDirectory.appendingPathComponent(name)) }
        try FileManager.default.createSymbolicLink(
            at: aliceDirectory.appendingPathComponent("services.json"), withDestinationURL: secret)
        #expect(mkfifo(aliceDirectory.appendingPathComponent("directories.json").path, 0o600) == 0)

        let alice = try await ProfileConversationTests.World.within(.seconds(30)) {
            try Profile.open(at: aliceDirectory, passphrase: nil)
        }
        defer { alice.close() }
        await #expect {
            _ = try await alice.storedServices()
        } throws: { error in
            if case ProfileError.store(.corrupt(let what)) = error { what.contains("symbolic link") } else { false }
        }
        await #expect {
            _ = try await alice.directoryTrust()
        } throws: { error in "\(error)".contains("not a regular file") }
        // Nothing of the link's target was stored.
        try FileManager.default.removeItem(at: aliceDirectory.appendingPathComponent("services.json"))
        #expect(try alice.store.document(.services) == nil)
    }
}
