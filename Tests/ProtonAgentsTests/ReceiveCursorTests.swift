import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonStore
import Testing

/// The receive cursors live in the profile: the recorded id commits with the message it
/// covers, and cursors an earlier version kept in receive-state.json are taken in once.
struct ReceiveCursorTests {
    @Test func theCursorCommitsWithTheMessageAndTheAcknowledgementIsKept() async throws {
        let fixture = try await AgentFixture()
        try await fixture.send("one", from: fixture.alex)
        try await fixture.send("two", from: fixture.alex)
        await fixture.receive(fixture.blair)
        #expect(try fixture.blair.log(.incoming).suffix(2) == ["one", "two"])

        let address = try #require(try fixture.blair.proton().ownRoutes.first?.address.hex)
        let cursor = try #require(try fixture.blair.store.receiveCursors()[address])
        #expect(cursor.recorded > 0)
        #expect(cursor.acknowledged == cursor.recorded)
    }

    @Test func cursorsKeptByAnEarlierVersionAreTakenInOnce() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("legacy-cursors-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ProfileStore.create(at: directory, persona: Persona(displayName: "Alex", random: SystemRandom()))
        defer { try? store.close() }
        let file = directory.appendingPathComponent("receive-state.json")
        try Data(#"{"addresses":{"00ff":{"recorded":7,"acknowledged":5},"abcd":{"recorded":3,"acknowledged":3}}}"#.utf8).write(to: file)
        try store.importReceiveCursors(["00ff": ReceiveCursor(recorded: 9, acknowledged: 1)])

        _ = try ReceiveAgent(store: store, services: [], stateDirectory: directory)
        #expect(!FileManager.default.fileExists(atPath: file.path))
        let cursors = try store.receiveCursors()
        // The further of the two for each address.
        #expect(cursors["00ff"] == ReceiveCursor(recorded: 9, acknowledged: 5))
        #expect(cursors["abcd"] == ReceiveCursor(recorded: 3, acknowledged: 3))
    }
}
