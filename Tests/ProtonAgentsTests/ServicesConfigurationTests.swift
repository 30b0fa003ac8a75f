import Foundation
import ProtonAgents
import ProtonCrypto
import Testing

struct ServicesConfigurationTests {
    @Test func savesOwnerOnlyAndReadsBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonAgentsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try ServicesConfiguration.load(from: directory) == ServicesConfiguration())

        var configuration = ServicesConfiguration()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try configuration.addSending("http://127.0.0.1:8080/", now: now)
        try configuration.addReceiving("https://rs.example.org", publicKey: SealedBox.PrivateKey().publicKey, now: now)
        try configuration.save(to: directory)
        let path = ServicesConfiguration.url(in: directory).path
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let loaded = try ServicesConfiguration.load(from: directory)
        #expect(loaded == configuration)
        #expect(loaded.sending.map(\.uri) == ["http://127.0.0.1:8080"])
        #expect(try loaded.receivingEndpoints().count == 1)
    }

    @Test(arguments: ["", "127.0.0.1:8080", "ftp://example.org", "http://", "http://exa mple.org"])
    func refusesWhatCannotBeAServiceURI(_ uri: String) {
        var configuration = ServicesConfiguration()
        #expect(throws: AgentError.invalidServiceURI(uri)) { try configuration.addSending(uri, now: Date()) }
        #expect(configuration.isEmpty)
    }

    @Test func refusesDuplicatesAndUnknownRemovals() throws {
        var configuration = ServicesConfiguration()
        try configuration.addSending("http://a.example", now: Date())
        #expect(throws: AgentError.duplicateService("http://a.example")) { try configuration.addSending("http://a.example/", now: Date()) }
        #expect(throws: AgentError.unknownService("http://b.example")) { try configuration.remove("http://b.example") }
        try configuration.remove("http://a.example")
        #expect(configuration.isEmpty)
    }

    @Test func backoffDoublesUpToItsCeiling() {
        let policy = RetryPolicy(initialDelay: 2, maximumDelay: 60)
        #expect((0...7).map { policy.delay(afterAttempts: $0) } == [0, 2, 4, 8, 16, 32, 60, 60])
    }
}
