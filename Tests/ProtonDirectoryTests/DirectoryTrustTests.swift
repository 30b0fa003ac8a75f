import Foundation
import ProtonClient
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import Testing

/// The directory steps of `ProtonClient.Profile`, in-process: a forked or rolled-back log is a
/// typed `DirectoryError.forked` carrying both signed checkpoints, and the stored checkpoint
/// stays the honest one.
@Suite(.serialized)
struct DirectoryTrustTests {
    @Test(arguments: [
        (["alice"], ["mallory"], DirectoryAuditor.Misbehaviour.Kind.fork),
        (["alice", "bob"], ["alice", "mallory", "eve"], .fork),
        (["alice", "bob", "carol"], ["mallory"], .rollback),
    ])
    func aForkIsATypedErrorWithItsEvidence(honestNames: [String], forkedNames: [String], kind: DirectoryAuditor.Misbehaviour.Kind) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("DirectoryTrust-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let profile = try Profile.create(at: root.appendingPathComponent("alex"), displayName: "Alex", passphrase: nil)
        defer { profile.close() }
        let honest = try await DirectoryServiceFixture.start()
        let pinned = try await profile.pinDirectory(url: honest.url, verifierKey: honest.info.verifierKey)
        #expect(pinned.namespace == honest.info.namespace)
        for name in honestNames { #expect(try await honest.register(name, key: Ed25519.PrivateKey()).status == 201) }
        let audited = try await profile.auditDirectories()
        guard case .success(.extended(_, let grown)) = audited.first?.outcome else {
            Issue.record("the honest log did not grow: \(String(describing: audited.first?.outcome))")
            return
        }
        #expect(grown.size == UInt64(honestNames.count))
        let honestNote = try #require(try await profile.directoryTrust().directories.first?.checkpoint)
        let port = honest.service.port
        await honest.stop()

        // The same key and namespace, a different history, at the same URL.
        let forkedData = DirectoryServiceFixture.newDataDirectory()
        try FileManager.default.createDirectory(at: forkedData, withIntermediateDirectories: true)
        for file in ["directory-key", "directory.json"] {
            try FileManager.default.copyItem(at: honest.dataDirectory.appendingPathComponent(file), to: forkedData.appendingPathComponent(file))
        }
        let forked = try await DirectoryServiceFixture.start(dataDirectory: forkedData, port: port)
        defer { Task { await forked.stop() } }
        for name in forkedNames { #expect(try await forked.register(name, key: Ed25519.PrivateKey()).status == 201) }

        let caught = try await profile.auditDirectories()
        guard case .failure(.forked(let misbehaviour)) = caught.first?.outcome else {
            Issue.record("the fork was not caught: \(String(describing: caught.first?.outcome))")
            return
        }
        #expect(misbehaviour.kind == kind)
        let evidence = try #require(misbehaviour.evidence)
        #expect(evidence.stored == honestNote)
        #expect(evidence.new != honestNote)
        // Both notes are kept in the profile, and the stored checkpoint is still the honest one.
        let trust = try await profile.directoryTrust()
        let kept = try #require(trust.directories.first?.evidence.last)
        #expect(kept.stored == evidence.stored && kept.new == evidence.new && kept.reason == evidence.reason)
        #expect(trust.directories.first?.checkpoint == honestNote)
        // A lookup through the forked directory is refused with the same typed error.
        await #expect {
            _ = try await profile.lookUp("\(forkedNames[0])@\(honest.info.namespace)")
        } throws: { error in
            if case ProfileError.directory(.forked(let again)) = error { again.kind == kind } else { false }
        }
    }
}
