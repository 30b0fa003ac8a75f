import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonStore

struct ProfileStoreTests {
    @Test func createsAndReopensAMigratedProfile() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        #expect(!ProfileStore.exists(at: directory))

        let created = try ProfileStore.create(at: directory, now: testNow)
        try created.close()
        #expect(ProfileStore.exists(at: directory))

        let store = try ProfileStore.open(at: directory)
        let info = try store.profileInfo()
        #expect(info.created == testNow)
        #expect(info.formatVersion == StoreMigrations.formatVersion)
        #expect(!info.isPassphraseProtected)
        let applied = try DatabaseQueue(path: ProfileStore.databaseURL(in: directory).path).read {
            try StoreMigrations.migrator.appliedIdentifiers($0)
        }
        #expect(applied == Set(StoreMigrations.migrator.migrations))
    }

    @Test func openingAnOlderProfileAppliesTheMissingMigrations() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: ProfileStore.databaseURL(in: directory).path)
        try StoreMigrations.migrator.migrate(queue, upTo: "v1 personas")
        try queue.write { db in
            try ProfileRecord(created: testNow, formatVersion: 1).insert(db)
        }
        try queue.close()

        let store = try ProfileStore.open(at: directory)
        #expect(try store.protons().isEmpty)
        #expect(try store.outbox().isEmpty)
    }

    @Test func refusesAProfileFromANewerVersion() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        try ProfileStore.create(at: directory).close()
        let queue = try DatabaseQueue(path: ProfileStore.databaseURL(in: directory).path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: ["v99 from the future"])
        }
        try queue.close()

        #expect(throws: StoreError.newerFormat) { try ProfileStore.open(at: directory) }
    }

    @Test func refusesToCreateOverAnExistingProfile() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        let persona = try Persona(displayName: "Alex", random: SystemRandom())
        try ProfileStore.create(at: directory, persona: persona).close()

        #expect(throws: StoreError.profileExists(directory: directory.path)) {
            try ProfileStore.create(at: directory, persona: try Persona(displayName: "Other", random: SystemRandom()))
        }
        let store = try ProfileStore.open(at: directory)
        #expect(try store.personas().map(\.displayName) == ["Alex"])
    }

    @Test func openingAMissingProfileSaysThereIsNone() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("nothing-here")
        #expect(throws: StoreError.noProfile(directory: directory.path)) { try ProfileStore.open(at: directory) }
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test func openingAFileThatIsNotADatabaseSaysItIsDamaged() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(repeating: 0x42, count: 4096).write(to: ProfileStore.databaseURL(in: directory))
        #expect(throws: StoreError.corrupt(what: "database")) { try ProfileStore.open(at: directory) }
    }

    @Test func addsAndListsPersonas() throws {
        let temp = try TemporaryDirectory()
        let first = try Persona(displayName: "Alex at work", random: SystemRandom())
        let store = try ProfileStore.create(at: temp.child("profile"), persona: first, now: testNow)
        let second = try Persona(displayName: "Alex at home", random: SystemRandom())
        let secondID = try store.addPersona(second, now: testNow.addingTimeInterval(60))

        let listed = try store.personas()
        #expect(listed.map(\.displayName) == ["Alex at work", "Alex at home"])
        #expect(listed.map(\.identityKey) == [first.publicIdentity, second.publicIdentity])
        #expect(listed[1].id == secondID)
        #expect(listed[1].created == testNow.addingTimeInterval(60))

        let loaded = try store.persona(secondID)
        #expect(loaded.displayName == "Alex at home")
        #expect(loaded.identityKey.seedBytes.isEqual(to: second.identityKey.seedBytes))
        #expect(throws: StoreError.unknownPersona(PersonaID(rawValue: "nope"))) {
            try store.persona(PersonaID(rawValue: "nope"))
        }
    }

    /// Without a passphrase nothing sealed the state: 8 bytes changed inside it (a damaged disk,
    /// a hand edit) used to load as a valid state that ratcheted on from wrong keys. The stored
    /// checksum refuses it as damaged, at every offset tried.
    @Test(arguments: [40, 100, 200, 300])
    func aStoredStateWithChangedBytesIsRefusedAsDamaged(_ offset: Int) throws {
        var pair = try PairedProfiles()
        let protonID = try #require(pair.blair.protonID)
        try pair.blair.store.close()
        let queue = try DatabaseQueue(path: pair.blair.directory.appendingPathComponent("proton.sqlite").path)
        try queue.write { db in
            var state = try #require(try Data.fetchOne(db, sql: "SELECT state FROM protons WHERE id = ?", arguments: [protonID.rawValue]))
            try #require(state.count > offset + 8)
            for index in offset..<offset + 8 { state[index] ^= 0x5a }
            try db.execute(sql: "UPDATE protons SET state = ? WHERE id = ?", arguments: [state, protonID.rawValue])
        }
        try queue.close()
        pair.blair.store = try ProfileStore.open(at: pair.blair.directory)
        #expect {
            _ = try pair.blair.store.proton(protonID)
        } throws: { error in
            guard case StoreError.corrupt(let what) = error else { return false }
            return what.contains("checksum")
        }
    }

    /// A column holding a value of the wrong kind (a date that is not one) is a damaged
    /// profile (exit 65), not an internal error (it was 70, with the row in the message).
    @Test func aStoredValueThatDoesNotDecodeIsDamage() throws {
        var pair = try PairedProfiles()
        try pair.blair.store.close()
        let queue = try DatabaseQueue(path: pair.blair.directory.appendingPathComponent("proton.sqlite").path)
        try queue.write { db in try db.execute(sql: "UPDATE personas SET created = 'garbage'") }
        try queue.close()
        pair.blair.store = try ProfileStore.open(at: pair.blair.directory)
        #expect(throws: StoreError.corrupt(what: "database (a stored value does not decode)")) {
            _ = try pair.blair.store.personas()
        }
    }

    @Test func protonRoundTripsThroughTheStore() throws {
        let pair = try PairedProfiles()
        // Leave a skipped key behind so the round trip covers that table too.
        _ = try pair.alex.send("one")
        let two = try pair.alex.send("two")
        try pair.blair.receive(two)

        let protonID = try #require(pair.blair.protonID)
        let loaded = try pair.blair.store.proton(protonID)
        #expect(loaded.skippedKeys.count == 1)
        let reloaded = try pair.blair.store.proton(protonID)
        #expect(ProtonSnapshot(loaded) == ProtonSnapshot(reloaded))

        try pair.blair.store.saveProton(protonID, loaded, now: testNow)
        #expect(ProtonSnapshot(try pair.blair.store.proton(protonID)) == ProtonSnapshot(loaded))

        let summary = try #require(try pair.blair.store.protons().first)
        #expect(summary.id == protonID)
        #expect(summary.personaID == pair.blair.personaID)
        #expect(summary.peerDisplayName == "Alex")
        #expect(summary.relationshipID == loaded.relationshipID)
        #expect(summary.peerIdentity == loaded.peerIdentity)
    }

    @Test func bothSidesListTheSameRelationshipID() throws {
        let pair = try PairedProfiles()
        let alexSide = try pair.alex.store.protons().map(\.relationshipID)
        let blairSide = try pair.blair.store.protons().map(\.relationshipID)
        #expect(alexSide.count == 1)
        #expect(alexSide == blairSide)
    }

    @Test func refusesASecondProtonForTheSameRelationship() throws {
        let pair = try PairedProfiles()
        let protonID = try #require(pair.alex.protonID)
        let proton = try pair.alex.store.proton(protonID)
        #expect(throws: StoreError.duplicateRelationship(relationshipID: proton.relationshipID)) {
            try pair.alex.store.addProton(proton, personaID: pair.alex.personaID)
        }
    }

    @Test func refusesAProtonUnderAnotherPersona() throws {
        let pair = try PairedProfiles()
        let proton = try pair.alex.store.proton(try #require(pair.alex.protonID))
        let otherID = try pair.alex.store.addPersona(try Persona(displayName: "Other", random: SystemRandom()))
        #expect(throws: StoreError.personaMismatch(otherID)) {
            try pair.alex.store.addProton(proton, personaID: otherID)
        }
    }

    @Test func outboxCountsAttemptsAndForgetsDeliveredItems() throws {
        let pair = try PairedProfiles()
        let item = try pair.alex.send("are you there?")
        #expect(item.attempts == 0)
        #expect(item.routes.count == 1)

        try pair.alex.store.recordDeliveryAttempt(outboxID: item.id, now: testNow.addingTimeInterval(5))
        let retried = try #require(try pair.alex.store.outbox().first)
        #expect(retried.attempts == 1)
        #expect(retried.lastAttempt == testNow.addingTimeInterval(5))
        #expect(retried.ciphertext == item.ciphertext)
        #expect(retried.routes == item.routes)

        try pair.alex.store.removeFromOutbox(item.id)
        #expect(try pair.alex.store.outbox().isEmpty)
        #expect(try pair.alex.log() == ["> hello Blair", "> are you there?"])
    }

    @Test func removingAProtonRemovesItsMessagesAndSkippedKeys() throws {
        let pair = try PairedProfiles()
        _ = try pair.alex.send("one")
        try pair.blair.receive(try pair.alex.send("two"))
        let protonID = try #require(pair.blair.protonID)

        try pair.blair.store.removeProton(protonID)
        #expect(try pair.blair.store.protons().isEmpty)
        #expect(try pair.blair.store.messages(protonID: protonID).isEmpty)
        let skipped = try DatabaseQueue(path: ProfileStore.databaseURL(in: pair.blair.directory).path).read {
            try SkippedKeyRecord.fetchCount($0)
        }
        #expect(skipped == 0)
    }
}
