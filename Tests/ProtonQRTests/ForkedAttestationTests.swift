import Foundation
import ProtonTestSupport
import ProtonCore
import ProtonDirectory
import ProtonServices
import ProtonStore
import Testing

/// A directory that signs a private fork for one victim: the honest log attests `alex@example.org`
/// to Alex's key, a second tree under the same directory key attests it to Mallory's, and
/// Mallory presents that attestation in an invite to Blair. Blair's client must never show
/// "verified alex@example.org" for Mallory: the presented checkpoint is weighed against the
/// one Blair holds (the same size with another root is caught offline), proven consistent
/// with the directory Blair pins (a larger forked tree is caught by the missing proof), or
/// kept pending until an online step does so (`proton directory audit`). Every catch keeps
/// the evidence and exits 76. Real `proton serve directory` processes, real CLI runs.
@Suite("Forked attestations presented in invites", .serialized)
struct ForkedAttestationTests {
    typealias Directory = AttestedContactTests.Directory

    /// The honest directory, its private fork (the same key, an empty log of its own), and
    /// three profiles: Alex (the name's owner), Blair (the victim, who pins the honest
    /// directory and has audited it once Alex's name is in it), Mallory (who pins the fork).
    struct World {
        let sandbox: InviteSandbox
        var honest: Directory
        let honestData: URL
        let fork: Directory
        let forkedNames: [String]

        init(forkedNames extra: [String]) async throws {
            forkedNames = extra
            sandbox = try InviteSandbox()
            honestData = sandbox.root.appendingPathComponent("honest")
            (honest, fork) = try ForkedAttestationTests.honestAndFork(in: sandbox.root)
            for person in ["Alex", "Blair", "Mallory"] { try await sandbox.makeProfile(person) }
            for person in ["Alex", "Blair"] {
                try await sandbox.require(sandbox.run(person, "directory", "add", honest.url, "--key", honest.key))
            }
            try await sandbox.require(sandbox.run("Mallory", "directory", "add", fork.url, "--key", fork.key))
            try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
            try await sandbox.require(sandbox.run("Blair", "directory", "audit"))
            // In the fork, alex@example.org is Mallory's; more names make its tree larger.
            try await sandbox.require(sandbox.run("Mallory", "directory", "register", "alex"))
            for name in extra { try await sandbox.require(sandbox.run("Mallory", "directory", "register", name)) }
            // A fresh lookup keeps the attestation in the fork's newest, larger tree.
            if !extra.isEmpty { try await sandbox.require(sandbox.run("Mallory", "directory", "lookup", "alex@example.org")) }
        }

        /// Mallory's invite, presenting the fork's attestation of alex@example.org.
        func malloryInvite() async throws -> String {
            let report = try AttestedContactTests.json(
                try await sandbox.require(sandbox.run("Mallory", "invite", "--attestation", "alex@example.org", "--json")))
            let text = try #require(report["invite"] as? String)
            let bundle = try AttestationBundle(decoding: try #require(try Invite(qrText: text).attestation))
            #expect(try SignedCheckpoint(verifying: bundle.checkpoint, verifier: NoteVerifier(verifierKey: fork.key)).checkpoint.size == forkSize)
            return text
        }

        var forkSize: UInt64 { UInt64(1 + forkedNames.count) }

        func evidence(_ person: String) async throws -> Int {
            let list = try await sandbox.require(sandbox.run(person, "directory", "list", "--json"))
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            return entries.first?["forkEvidence"] as? Int ?? 0
        }

        /// What Blair's profile keeps as evidence: the presented attestation is among it.
        func evidenceKeepsTheAttestation() throws -> Bool {
            let store = try ProfileStore.open(at: sandbox.profile("Blair"))
            defer { try? store.close() }
            guard let data = try store.document(.directoryTrust),
                let state = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let directories = state["directories"] as? [[String: Any]]
            else { return false }
            return directories.contains { ($0["evidence"] as? [[String: Any]] ?? []).contains { $0["attestation"] is String } }
        }

        func blairSeesMalloryAsVerified() async throws -> Bool {
            let listed = try await AttestedContactTests.contacts(sandbox, "Blair")
            return listed.contains { $0["verified"] as? Bool == true }
        }

        func stop() {
            honest.stop()
            fork.stop()
        }
    }

    /// `proton serve directory` on `root/honest`, and its private fork on `root/fork`: the
    /// same key, an empty log of its own.
    static func honestAndFork(in root: URL) throws -> (honest: Directory, fork: Directory) {
        let honestData = root.appendingPathComponent("honest")
        let honest = try Directory(data: honestData)
        let forkData = root.appendingPathComponent("fork")
        try FileManager.default.createDirectory(at: forkData, withIntermediateDirectories: true)
        for file in ["directory-key", "directory.json"] {
            try FileManager.default.copyItem(at: honestData.appendingPathComponent(file), to: forkData.appendingPathComponent(file))
        }
        let fork = try Directory(data: forkData)
        #expect(fork.key == honest.key, "the fork is signed by the honest directory's key")
        return (honest, fork)
    }

    /// (c) The fork has the size Blair holds, with another root: caught at once, offline.
    @Test func aForkOfTheSameSizeIsCaughtWhenTheInviteIsAccepted() async throws {
        let world = try await World(forkedNames: [])
        defer { world.stop() }
        world.honest.stop()  // no network needed
        let accepted = try await world.sandbox.run("Blair", "accept", try await world.malloryInvite())
        #expect(accepted.status == 76, "\(accepted.stdout) \(accepted.stderr)")
        #expect(accepted.stdout.contains("FORK"), "\(accepted.stdout)")
        #expect(try await !world.blairSeesMalloryAsVerified())
        #expect(try await world.evidence("Blair") == 1)
        #expect(try world.evidenceKeepsTheAttestation())
        #expect(try AttestedContactTests.storedBundles(world.sandbox, "Blair") == 0)
    }

    /// (c) The fork is larger: the directory Blair pins cannot prove it extends what Blair
    /// holds, so accepting the invite (online) catches it.
    @Test func aLargerForkIsCaughtByTheMissingConsistencyProof() async throws {
        let world = try await World(forkedNames: ["zed", "yan"])
        defer { world.stop() }
        let accepted = try await world.sandbox.run("Blair", "accept", try await world.malloryInvite())
        #expect(accepted.status == 76, "\(accepted.stdout) \(accepted.stderr)")
        #expect(accepted.stderr.contains("different logs"), "\(accepted.stderr)")
        #expect(try await !world.blairSeesMalloryAsVerified())
        #expect(try await world.evidence("Blair") == 1)
        #expect(try world.evidenceKeepsTheAttestation())
        #expect(try AttestedContactTests.storedBundles(world.sandbox, "Blair") == 0)
        #expect(try await world.sandbox.run("Blair", "directory", "audit").status == 0, "the honest log itself is fine")
    }

    /// (d) Offline when accepting, the attestation is pending, never verified; the next audit
    /// catches the fork, keeps the evidence and drops the attestation.
    @Test func aPendingAttestationIsCaughtByTheAudit() async throws {
        var world = try await World(forkedNames: ["zed"])
        defer { world.stop() }
        let port = try #require(URL(string: world.honest.url)?.port)
        world.honest.stop()
        let accepted = try await world.sandbox.run("Blair", "accept", try await world.malloryInvite())
        #expect(accepted.status == 0, "\(accepted.stdout) \(accepted.stderr)")
        #expect(accepted.stdout.contains("Pending: "), "\(accepted.stdout)")
        let listed = try await AttestedContactTests.contacts(world.sandbox, "Blair")
        #expect(listed.first?["verified"] as? Bool == false)
        #expect(listed.first?["pendingName"] as? String == "alex@example.org")
        #expect(try await world.sandbox.run("Blair", "contacts").stdout.contains("pending alex@example.org"))
        let relationship = try #require(listed.first?["relationshipID"] as? String)
        let shown = try await world.sandbox.require(world.sandbox.run("Blair", "show", String(relationship.prefix(12))))
        #expect(shown.stdout.contains("Name verified:   pending"), "\(shown.stdout)")
        let verify = try await world.sandbox.run("Blair", "verify", String(relationship.prefix(12)))
        #expect(verify.status == 75, "\(verify.stderr)")
        #expect(try await world.sandbox.run("Blair", "directory", "audit").status == 69, "the directory is down: still pending")

        world.honest = try Directory(data: world.honestData, listen: "127.0.0.1:\(port)")
        let audit = try await world.sandbox.run("Blair", "directory", "audit", "--json")
        #expect(audit.status == 76, "\(audit.stdout) \(audit.stderr)")
        #expect(audit.stderr.contains("DIRECTORY MISBEHAVIOUR"))
        #expect(try await !world.blairSeesMalloryAsVerified())
        #expect(try AttestedContactTests.storedBundles(world.sandbox, "Blair") == 0)
        #expect(try await world.evidence("Blair") == 1)
        #expect(try world.evidenceKeepsTheAttestation())
    }

    /// The honest case: Alex's attestation is in a newer tree than the one Blair holds. Online,
    /// the proof settles it at once; offline, it is pending until the audit settles it.
    @Test func aGenuineNewerAttestationSettlesOnlineOrAtTheAudit() async throws {
        let sandbox = try InviteSandbox()
        let data = sandbox.root.appendingPathComponent("directory")
        var directory = try Directory(data: data)
        defer { directory.stop() }
        for person in ["Alex", "Blair", "Casey"] {
            try await sandbox.makeProfile(person)
            try await sandbox.require(sandbox.run(person, "directory", "add", directory.url, "--key", directory.key))
        }
        try await sandbox.require(sandbox.run("Casey", "directory", "register", "casey"))
        try await sandbox.require(sandbox.run("Blair", "directory", "audit"))
        try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
        func invite() async throws -> String {
            let report = try AttestedContactTests.json(
                try await sandbox.require(sandbox.run("Alex", "invite", "--attestation", "alex@example.org", "--json")))
            return try #require(report["invite"] as? String)
        }

        let online = try await sandbox.require(sandbox.run("Blair", "accept", try await invite()))
        #expect(online.stdout.contains("Verified: "), "\(online.stdout)")

        let port = try #require(URL(string: directory.url)?.port)
        directory.stop()
        let offline = try await sandbox.require(sandbox.run("Casey", "accept", try await invite()))
        #expect(offline.stdout.contains("Pending: "), "\(offline.stdout)")
        #expect(try await AttestedContactTests.contacts(sandbox, "Casey").first?["pendingName"] as? String == "alex@example.org")
        directory = try Directory(data: data, listen: "127.0.0.1:\(port)")
        let audit = try await sandbox.require(sandbox.run("Casey", "directory", "audit", "--json"))
        #expect(audit.stdout.contains("alex@example.org"), "\(audit.stdout)")
        let listed = try await AttestedContactTests.contacts(sandbox, "Casey")
        #expect(listed.first?["verifiedName"] as? String == "alex@example.org")
        #expect(listed.first?["pendingName"] == nil || listed.first?["pendingName"] is NSNull)
    }

    /// An attestation that was genuine when the invite was made, but the name was revoked
    /// since: its checkpoint is consistent, yet the lookup that settles it finds the name no
    /// longer bound to that key, so the contact is never verified and the bundle is dropped.
    @Test func anAttestationOfARevokedNameIsNotVerified() async throws {
        let sandbox = try InviteSandbox()
        let data = sandbox.root.appendingPathComponent("directory")
        var directory = try Directory(data: data)
        defer { directory.stop() }
        for person in ["Alex", "Blair"] {
            try await sandbox.makeProfile(person)
            try await sandbox.require(sandbox.run(person, "directory", "add", directory.url, "--key", directory.key))
        }
        try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
        let report = try AttestedContactTests.json(
            try await sandbox.require(sandbox.run("Alex", "invite", "--attestation", "alex@example.org", "--json")))
        let invite = try #require(report["invite"] as? String)

        // The name is revoked (here by the operator, as a stolen key's owner would ask).
        let port = try #require(URL(string: directory.url)?.port)
        directory.stop()
        let alexKey = try {
            let store = try sandbox.openStore("Alex")
            defer { try? store.close() }
            return try #require(try store.personas().first).identityKey
        }()
        let registry = try await DirectoryRegistry.open(dataDirectory: data, namespace: nil)
        _ = try await registry.revoke(name: "alex", identityKey: alexKey, now: Date())
        registry.close()
        directory = try Directory(data: data, listen: "127.0.0.1:\(port)")
        try await sandbox.require(sandbox.run("Blair", "directory", "audit"))

        let accepted = try await sandbox.require(sandbox.run("Blair", "accept", invite))
        #expect(accepted.stdout.contains("Unverified: ") && accepted.stdout.contains("out of date"), "\(accepted.stdout)")
        #expect(try await !AttestedContactTests.contacts(sandbox, "Blair").contains { $0["verified"] as? Bool == true })
        #expect(try AttestedContactTests.storedBundles(sandbox, "Blair") == 0)
    }
}
