import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonStore

struct PassphraseTests {
    private let passphrase = SecureBytes(Array("correct horse battery staple".utf8))

    @Test func aProtectedProfileOpensOnlyWithItsPassphrase() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.child("profile")
        let persona = try Persona(displayName: "Alex", random: SystemRandom())
        try ProfileStore.create(at: directory, persona: persona, passphrase: passphrase, cost: .minimum).close()

        #expect(throws: StoreError.passphraseRequired) { try ProfileStore.open(at: directory) }
        #expect(throws: StoreError.wrongPassphrase) {
            try ProfileStore.open(at: directory, passphrase: SecureBytes(Array("correct horse battery stapler".utf8)))
        }
        let store = try ProfileStore.open(at: directory, passphrase: passphrase)
        #expect(try store.profileInfo().passphraseCost == .minimum)
        let loaded = try store.persona(try store.personas()[0].id)
        #expect(loaded.identityKey.seedBytes.isEqual(to: persona.identityKey.seedBytes))
    }

    @Test func secretsAndBodiesAreNotInTheFilesInTheClear() throws {
        let passphrase = self.passphrase
        let pair = try PairedProfiles(passphrase: passphrase)
        try pair.blair.receive(try pair.alex.send("a very private sentence"))
        let persona = try pair.blair.store.persona(pair.blair.personaID)
        let state = try pair.blair.store.proton(try #require(pair.blair.protonID)).serializedState()
        try pair.blair.store.close()

        let database = ProfileStore.databaseURL(in: pair.blair.directory)
        var bytes = Array(try Data(contentsOf: database))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: database.path + "-wal")) { bytes += Array(wal) }
        #expect(!bytes.containsSubsequence(persona.identityKey.seedBytes.unsafeExportedBytes()))
        #expect(!bytes.containsSubsequence(Array(state.unsafeExportedBytes().prefix(64))))
        #expect(!bytes.containsSubsequence(Array("a very private sentence".utf8)))
        #expect(bytes.containsSubsequence(persona.publicIdentity.rawRepresentation), "public keys stay readable")
    }

    @Test func aSealedValueMovedToAnotherRowDoesNotOpen() throws {
        let key = SecureBytes(Array(repeating: 7, count: 32))
        let sealer = try SecretSealer.derive(passphrase: key, salt: Array(repeating: 1, count: 16), cost: .minimum)
        let sealed = sealer.seal([1, 2, 3], .protonState, row: "a")
        #expect(try sealer.open(sealed, .protonState, row: "a") == [1, 2, 3])
        #expect(throws: StoreError.corrupt(what: "protons.state")) { try sealer.open(sealed, .protonState, row: "b") }
        #expect(throws: StoreError.corrupt(what: "messages.body")) { try sealer.open(sealed, .messageBody, row: "a") }
    }
}
