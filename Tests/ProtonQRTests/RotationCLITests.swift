import Foundation
import Testing

/// `proton rotate` and a message each way, round after round, with real processes and services:
/// the relationship stays usable (it used to fail from about round 15, when one long-poll per
/// address ran the connection pool dry and the stored state outgrew its loader).
@Suite("rotation with real processes", .serialized)
struct RotationCLITests {
    static let rounds = 40

    @Test func aRelationshipSurvivesFortyRotationsWithAMessageEachWay() async throws {
        let sandbox = try await InviteSandbox.paired()

        for round in 1...Self.rounds {
            try await sandbox.require(sandbox.run("Alex", "rotate", "Blair"))
            try await sandbox.require(sandbox.run("Alex", "send", "Blair", "a\(round)"))
            let atBlair = try await sandbox.require(sandbox.run("Blair", "receive"))
            #expect(atBlair.stdout.contains("Alex: a\(round)"), "round \(round): \(atBlair.stdout) \(atBlair.stderr)")
            try await sandbox.require(sandbox.run("Blair", "rotate", "Alex"))
            try await sandbox.require(sandbox.run("Blair", "send", "Alex", "b\(round)"))
            let atAlex = try await sandbox.require(sandbox.run("Alex", "receive"))
            #expect(atAlex.stdout.contains("Blair: b\(round)"), "round \(round): \(atAlex.stdout) \(atAlex.stderr)")
        }
        let shown = try await sandbox.require(sandbox.run("Alex", "show", "Blair", "--json")).stdout
        let detail = try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any]
        let ours = try #require(detail?["ourRoutes"] as? [Any])
        #expect(ours.count <= 24)
        #expect(try await sandbox.require(sandbox.run("Alex", "contacts")).status == 0)
    }
}
