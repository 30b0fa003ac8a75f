import Foundation
@testable import ProtonClient
import ProtonCore
import ProtonDirectory
import Testing

/// Two processes change the trust state at once (the monitor of `receive --watch` for minutes,
/// an `accept` keeping fork evidence meanwhile): the later save takes in what the other added.
@Test func aLaterSaveKeepsWhatAnotherProcessAdded() {
    var base = DirectoryTrust()
    base.directories = [
        DirectoryTrust.Pinned(
            url: "https://directory.example.org", namespace: "example.org", verifierKey: "k", added: Date(), checkpoint: nil, checkpointSeen: nil,
            evidence: [])
    ]
    let old = DirectoryTrust.StoredBundle(identityKey: "old", name: "old", namespace: "example.org", bundle: "b0", fetched: Date(), settled: true)
    base.bundles = [old]
    var ours = base
    ours.bundles.removeAll()  // dropped by this step (a fork, say)
    ours.bundles.append(DirectoryTrust.StoredBundle(identityKey: "a", name: "alice", namespace: "example.org", bundle: "b1", fetched: Date(), settled: false))
    ours.directories[0].monitor = DirectoryTrust.MonitorState(size: 10, frontier: [], scanned: Date())
    var theirs = base
    let evidence = DirectoryTrust.ForkEvidence(detected: Date(), reason: "FORK", stored: "s", new: "n")
    theirs.directories[0].evidence = [evidence]
    theirs.bundles.append(DirectoryTrust.StoredBundle(identityKey: "b", name: "bob", namespace: "example.org", bundle: "b2", fetched: Date(), settled: true))
    theirs.bundles.append(DirectoryTrust.StoredBundle(identityKey: "a", name: "alice", namespace: "example.org", bundle: "b1", fetched: Date(), settled: true))
    theirs.registered = [DirectoryTrust.Registered(name: "carol", namespace: "example.org", identityKey: "c")]

    var merged = ours
    merged.merge(theirs: theirs, base: base)
    #expect(merged.directories[0].evidence == [evidence], "their evidence is kept")
    #expect(merged.directories[0].monitor?.size == 10, "our progress is kept")
    #expect(Set(merged.bundles.map(\.name)) == ["alice", "bob"], "their new bundle is kept; the one we dropped stays dropped")
    #expect(merged.bundles.first { $0.name == "alice" }?.settled == true, "settled by them")
    #expect(merged.registered?.map(\.name) == ["carol"])
}
