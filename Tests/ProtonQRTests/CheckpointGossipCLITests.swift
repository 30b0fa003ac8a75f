import Foundation
import ProtonTestSupport
import ProtonStore
import Testing

/// Checkpoint gossip through relationships (docs/directory.md), with real processes: a
/// directory that shows Blair a private fork and Alex the honest log is caught as soon as the
/// two write to each other, offline when the trees have one size and at the next online step
/// otherwise; honest gossip leaves no evidence. Real `proton serve directory`, real services,
/// real CLI runs.
@Suite("Checkpoint gossip between contacts", .serialized)
struct CheckpointGossipCLITests {
    typealias Directory = AttestedContactTests.Directory

    /// Alex and Blair in a relationship, the honest directory and its private fork (the same
    /// key, an empty log of its own); Alex pins the honest one, Blair (the victim) the fork, and
    /// Mallory, who pins the fork too, holds `alex@example.org` there. With `blairRegisters`,
    /// Blair has `blair@example.org` in the fork and Casey `casey@example.org` in the honest
    /// log (so both trees keep one size): Blair's persona then has a tie to the directory, and
    /// Blair's messages gossip it too.
    struct World {
        let sandbox: InviteSandbox
        let honest: Directory
        let fork: Directory

        init(forkedNames extra: [String], blairRegisters: Bool = false) async throws {
            sandbox = try await InviteSandbox.paired()
            (honest, fork) = try ForkedAttestationTests.honestAndFork(in: sandbox.root)
            try await sandbox.makeProfile("Mallory")
            try await sandbox.require(sandbox.run("Alex", "directory", "add", honest.url, "--key", honest.key))
            for person in ["Blair", "Mallory"] { try await sandbox.require(sandbox.run(person, "directory", "add", fork.url, "--key", fork.key)) }
            try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
            try await sandbox.require(sandbox.run("Mallory", "directory", "register", "alex"))
            for name in extra { try await sandbox.require(sandbox.run("Mallory", "directory", "register", name)) }
            if blairRegisters {
                try await sandbox.makeProfile("Casey")
                try await sandbox.require(sandbox.run("Casey", "directory", "add", honest.url, "--key", honest.key))
                try await sandbox.require(sandbox.run("Casey", "directory", "register", "casey"))
                try await sandbox.require(sandbox.run("Blair", "directory", "register", "blair"))
            }
            for person in ["Alex", "Blair"] { try await sandbox.require(sandbox.run(person, "directory", "audit")) }
        }

        func stop() {
            honest.stop()
            fork.stop()
        }
    }

    static func listed(_ sandbox: InviteSandbox, _ person: String) async throws -> [String: Any] {
        let list = try await sandbox.require(sandbox.run(person, "directory", "list", "--json"))
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        return try #require(entries.first)
    }

    /// The relationship each piece of evidence names as its carrier.
    static func gossipedBy(_ sandbox: InviteSandbox, _ person: String) throws -> [String] {
        let store = try sandbox.openStore(person)
        defer { try? store.close() }
        guard let data = try store.document(.directoryTrust),
            let state = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let directories = state["directories"] as? [[String: Any]]
        else { return [] }
        return directories.flatMap { ($0["evidence"] as? [[String: Any]] ?? []).compactMap { $0["gossipedBy"] as? String } }
    }

    /// (b) The fork has the size of the honest tree: Blair catches it offline from the
    /// checkpoint Alex's message carried (Alex has a name there), and the message still
    /// arrives. Without a name of Blair's there (a tie Alex knows of), Blair's reply gossips
    /// nothing back; with one (each in the tree it is shown, both of one size), Blair's reply
    /// carries the fork's checkpoint and Alex catches it too. Each keeps both signed checkpoints.
    @Test(arguments: [false, true])
    func aForkOfTheSameSizeIsCaughtOffline(blairRegisters: Bool) async throws {
        let world = try await World(forkedNames: [], blairRegisters: blairRegisters)
        defer { world.stop() }
        let sandbox = world.sandbox
        for person in ["Alex", "Blair"] { try await sandbox.require(sandbox.run(person, "directory", "audit")) }
        let size = blairRegisters ? 2 : 1
        #expect(try await Self.listed(sandbox, "Blair")["checkpointSize"] as? Int == size)
        #expect(try await Self.listed(sandbox, "Alex")["checkpointSize"] as? Int == size)
        world.honest.stop()
        world.fork.stop()  // nothing of this needs a directory

        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Is this alex@example.org yours?"))
        let atBlair = try await sandbox.run("Blair", "receive")
        #expect(atBlair.status == 76, "\(atBlair.stdout) \(atBlair.stderr)")
        #expect(atBlair.stdout.contains("Is this alex@example.org yours?"), "the message itself arrives")
        #expect(atBlair.stderr.contains("DIRECTORY MISBEHAVIOUR"), "\(atBlair.stderr)")
        #expect(try await Self.listed(sandbox, "Blair")["forkEvidence"] as? Int == 1)
        let atBlairsSide = try #require(try await AttestedContactTests.contacts(sandbox, "Blair").first?["relationshipID"] as? String)
        #expect(try Self.gossipedBy(sandbox, "Blair") == [atBlairsSide])
        #expect(try await sandbox.run("Blair", "receive").status == 0, "reported once")

        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "It is not."))
        let atAlex = try await sandbox.run("Alex", "receive")
        #expect(atAlex.status == (blairRegisters ? 76 : 0), "\(atAlex.stdout) \(atAlex.stderr)")
        #expect(atAlex.stdout.contains("It is not."))
        #expect(try await Self.listed(sandbox, "Alex")["forkEvidence"] as? Int == (blairRegisters ? 1 : 0))
        #expect(try Self.gossipedBy(sandbox, "Alex").count == (blairRegisters ? 1 : 0))
    }

    /// (b) The fork is larger than the honest tree: Blair cannot tell offline, keeps Alex's
    /// checkpoint pending, and the next audit asks the directory Blair pins to prove it a
    /// prefix of the fork, which it cannot: caught, with the evidence.
    @Test func aLargerForkIsCaughtAtTheNextAudit() async throws {
        let world = try await World(forkedNames: ["zed"])
        defer { world.stop() }
        let sandbox = world.sandbox
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Hello again."))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        var blair = try await Self.listed(sandbox, "Blair")
        #expect(blair["pendingGossip"] as? Int == 1)
        #expect(blair["forkEvidence"] as? Int == 0)
        let audit = try await sandbox.run("Blair", "directory", "audit")
        #expect(audit.status == 76, "\(audit.stdout) \(audit.stderr)")
        #expect(audit.stderr.contains("DIRECTORY MISBEHAVIOUR"), "\(audit.stderr)")
        blair = try await Self.listed(sandbox, "Blair")
        #expect(blair["pendingGossip"] as? Int == 0)
        #expect(blair["forkEvidence"] as? Int == 1)
        #expect(try Self.gossipedBy(sandbox, "Blair").count == 1)
        #expect(blair["checkpointSize"] as? Int == 2, "the stored checkpoint was not replaced")
    }

    /// Honest gossip: Alex's newer checkpoint waits at Blair until the audit proves it
    /// consistent; no evidence, and the stored checkpoint moves forward.
    @Test func honestGossipIsSettledWithoutEvidence() async throws {
        let sandbox = try await InviteSandbox.paired()
        let directory = try Directory(data: sandbox.root.appendingPathComponent("directory"))
        defer { directory.stop() }
        for person in ["Alex", "Blair"] { try await sandbox.require(sandbox.run(person, "directory", "add", directory.url, "--key", directory.key)) }
        try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
        #expect(try await Self.listed(sandbox, "Blair")["checkpointSize"] as? Int == 0)
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "A newer tree."))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        #expect(try await Self.listed(sandbox, "Blair")["pendingGossip"] as? Int == 1)
        try await sandbox.require(sandbox.run("Blair", "directory", "audit"))
        let blair = try await Self.listed(sandbox, "Blair")
        #expect(blair["pendingGossip"] as? Int == 0)
        #expect(blair["forkEvidence"] as? Int == 0)
        #expect(blair["checkpointSize"] as? Int == 1)
        // Once given, the same checkpoint is not given again.
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Again."))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        #expect(try await Self.listed(sandbox, "Blair")["pendingGossip"] as? Int == 0)
    }
}
