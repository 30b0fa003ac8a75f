import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import Testing

/// `proton directory monitor` against a real directory: quiet while every entry about the
/// owner's name is the owner's, loud (exit 76, the entry and its proof) when the operator
/// forces another key in, and it reads each entry once.
@Suite("Owner's monitor", .serialized)
struct MonitorCLITests {
    @Test func theMonitorFindsAKeyTheOperatorForcedInAndIsQuietOtherwise() async throws {
        let sandbox = try DirectoryCLISandbox()
        var directory = try await DirectoryServiceFixture.start()
        let alice = try sandbox.createProfile("alice", persona: "Alice")
        #expect(try await sandbox.run("alice", "directory", "add", directory.url, "--key", directory.info.verifierKey).status == 0)
        let nothing = try await sandbox.run("alice", "directory", "monitor")
        #expect(nothing.status == 0 && nothing.stdout.contains("nothing to watch"), "\(nothing.stdout)")
        for name in ["bob", "carol"] { #expect(try await directory.register(name, key: Ed25519.PrivateKey()).status == 201) }
        #expect(try await sandbox.run("alice", "directory", "register", "alice").status == 0)

        let quiet = try await sandbox.run("alice", "directory", "monitor", "--json")
        #expect(quiet.status == 0, "\(quiet.stderr)")
        let scans = try #require(try quiet.json() as? [[String: Any]])
        #expect(scans.first?["from"] as? Int == 0 && scans.first?["to"] as? Int == 3)
        #expect((scans.first?["findings"] as? [Any])?.isEmpty == true)

        // The operator binds alice@example.org to Mallory's key, with no signature from Alice.
        let port = directory.service.port
        await directory.stop()
        let mallory = Ed25519.PrivateKey()
        let registry = try await DirectoryRegistry.open(dataDirectory: directory.dataDirectory, namespace: nil)
        _ = try await registry.changeKey(name: "alice", from: alice.identityKey.publicKey, to: mallory.publicKey, now: Date())
        registry.close()
        directory = try await DirectoryServiceFixture.start(dataDirectory: directory.dataDirectory, port: port)
        #expect(try await directory.register("dave", key: Ed25519.PrivateKey()).status == 201)

        let caught = try await sandbox.run("alice", "directory", "monitor", "--json")
        #expect(caught.status == 76, "\(caught.stdout) \(caught.stderr)")
        let found = try #require(try caught.json() as? [[String: Any]])
        #expect(found.first?["from"] as? Int == 3 && found.first?["to"] as? Int == 5, "only the new entries are read")
        let finding = try #require((found.first?["findings"] as? [[String: Any]])?.first)
        #expect(finding["identityKey"] as? String == Base64URL.encode(mallory.publicKey.rawRepresentation))
        #expect(finding["logIndex"] as? Int == 3)
        #expect(finding["name"] as? String == "alice@example.org")
        // The proof verifies the entry against the signed checkpoint it came with.
        let entry = try Base64URL.decode(try #require(finding["entry"] as? String), limit: 65_536)
        let proof = try (try #require(finding["proof"] as? [String])).map { try Base64URL.decode($0, limit: 32) }
        let signed = try SignedCheckpoint(verifying: try #require(finding["checkpoint"] as? String), verifier: directory.verifier)
        try InclusionProof(leafIndex: 3, treeSize: signed.checkpoint.size, hashes: proof).verify(leafHash: Merkle.leafHash(entry), root: signed.checkpoint.rootHash)

        // Read once: nothing new, nothing reported again.
        let again = try await sandbox.run("alice", "directory", "monitor")
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        await directory.stop()
    }
}

/// The monitor's frontier gives the RFC 9162 root of every prefix, as the reference does, and
/// survives being stored and restored.
@Test func theFrontierGivesTheRootOfEveryPrefix() throws {
    let leaves = (0..<130).map { Array("leaf \($0)".utf8) }
    var frontier = MerkleFrontier()
    #expect(frontier.root == Merkle.emptyRoot)
    for (index, leaf) in leaves.enumerated() {
        frontier.append(leaf: leaf)
        #expect(frontier.root == Merkle.root(ofLeaves: Array(leaves[...index])), "size \(index + 1)")
        let restored = try #require(MerkleFrontier(size: frontier.size, hashes: frontier.hashes))
        #expect(restored == frontier)
    }
    #expect(MerkleFrontier(size: 5, hashes: [Merkle.emptyRoot]) == nil, "5 needs two subtrees")
}
