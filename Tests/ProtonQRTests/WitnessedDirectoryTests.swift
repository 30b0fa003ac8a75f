import Foundation
import ProtonTestSupport
import ProtonCore
import ProtonDirectory
import Testing

/// A directory whose checkpoints a witness cosigns, and clients that pin it with a witness
/// policy: an honest attestation carries the cosignature and verifies; a private fork under
/// the same directory key is refused by the witness (it does not extend what the witness saw),
/// and a fork that skips the witness is refused by the victim's client for the missing quorum.
/// Real `proton serve directory` and `proton serve witness` processes, real CLI runs.
@Suite("Witnessed directories", .serialized)
struct WitnessedDirectoryTests {
    typealias Service = AttestedContactTests.Directory

    @Test func aForkIsRefusedByTheWitnessAndItsAttestationByTheQuorum() async throws {
        let sandbox = try InviteSandbox()
        let honestData = sandbox.root.appendingPathComponent("honest")
        // The directory's key exists once it has run; the witness is configured with it.
        var honest = try Service(data: honestData)
        let directoryKey = honest.key
        let port = try #require(URL(string: honest.url)?.port)
        honest.stop()
        let witness = try Service.witness(data: sandbox.root.appendingPathComponent("witness"), log: directoryKey)
        defer { witness.stop() }
        #expect(witness.key.hasPrefix("witness.example.org/w1+"))
        honest = try Service(data: honestData, listen: "127.0.0.1:\(port)", extra: ["--witness", "\(witness.url)=\(witness.key)"])
        defer { honest.stop() }

        for person in ["Alex", "Blair", "Mallory"] { try await sandbox.makeProfile(person) }
        for person in ["Alex", "Blair"] {
            try await sandbox.require(
                sandbox.run(person, "directory", "add", honest.url, "--key", directoryKey, "--witness", witness.key, "--quorum", "1"))
        }
        try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
        try await sandbox.require(sandbox.run("Blair", "directory", "audit"))
        // The honest attestation carries the witness's cosignature, and Blair accepts it.
        let invite = try AttestedContactTests.json(
            try await sandbox.require(sandbox.run("Alex", "invite", "--attestation", "alex@example.org", "--json")))
        let text = try #require(invite["invite"] as? String)
        let bundle = try AttestationBundle(decoding: try #require(try Invite(qrText: text).attestation))
        let note = try SignedNote(parsing: bundle.checkpoint)
        #expect(note.signatures.contains { $0.keyName == "witness.example.org/w1" })
        let accepted = try await sandbox.require(sandbox.run("Blair", "accept", text))
        #expect(accepted.stdout.contains("Verified: "), "\(accepted.stdout)")

        // The fork: the same key, a log of its own, submitted to the same witness.
        let forkData = sandbox.root.appendingPathComponent("fork")
        try FileManager.default.createDirectory(at: forkData, withIntermediateDirectories: true)
        for file in ["directory-key", "directory.json"] {
            try FileManager.default.copyItem(at: honestData.appendingPathComponent(file), to: forkData.appendingPathComponent(file))
        }
        // Its (empty) tree does not extend the one the witness cosigned, so the witness refuses
        // it and the fork has no checkpoint to serve: even pinning it fails.
        let witnessed = try Service(data: forkData, extra: ["--witness", "\(witness.url)=\(witness.key)"])
        let refused = try await sandbox.run("Mallory", "directory", "add", witnessed.url, "--key", directoryKey)
        #expect(refused.status == 69, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("witnesses did not cosign"), "\(refused.stderr)")
        witnessed.stop()

        // The same fork without the witness: its attestation has no cosignature.
        let unwitnessed = try Service(data: forkData)
        defer { unwitnessed.stop() }
        try await sandbox.require(sandbox.run("Mallory", "directory", "add", unwitnessed.url, "--key", directoryKey))
        try await sandbox.require(sandbox.run("Mallory", "directory", "register", "alex"))
        let forged = try AttestedContactTests.json(
            try await sandbox.require(sandbox.run("Mallory", "invite", "--attestation", "alex@example.org", "--json")))
        let fromFork = try await sandbox.run("Blair", "accept", try #require(forged["invite"] as? String))
        #expect(fromFork.stdout.contains("Unverified: ") && fromFork.stdout.contains("witnesses"), "\(fromFork.stdout)")
        let listed = try await AttestedContactTests.contacts(sandbox, "Blair")
        #expect(listed.filter { $0["verifiedName"] as? String == "alex@example.org" }.count == 1, "only Alex's relationship is verified")
        #expect(try await sandbox.run("Blair", "directory", "audit").status == 0, "the honest, witnessed log itself is fine")
    }
}
