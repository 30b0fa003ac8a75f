import Foundation
import ProtonClient
import ProtonTestSupport
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices
import Testing

/// The directory commands of the real `proton` binary against real directory services on
/// loopback: pin, register, look up, verify a contact (online and offline), and audit logs
/// that fork.
@Suite("Directory CLI", .serialized)
struct DirectoryCLITests {
    @Test func registerLookupAndVerifyAContactEndToEnd() async throws {
        let sandbox = try DirectoryCLISandbox()
        let directory = try await DirectoryServiceFixture.start()
        let blair = try sandbox.createProfile("blair", persona: "Blair")
        let alex = try sandbox.createProfile("alex", persona: "Alex")
        let relationship = try sandbox.startRelationship(in: "alex", persona: alex, with: blair)
        let mallory = try sandbox.createProfile("mallory", persona: "Mallory")

        for profile in ["blair", "alex", "mallory"] {
            let added = try await sandbox.run(profile, "directory", "add", directory.url, "--key", directory.info.verifierKey)
            #expect(added.status == 0, "\(added.stderr)")
        }
        let registered = try await sandbox.run("blair", "directory", "register", "blair")
        #expect(registered.status == 0, "\(registered.stderr)")
        #expect(registered.stdout.contains("blair@example.org is attested"))
        #expect(try await sandbox.run("mallory", "directory", "register", "mallory").status == 0)
        // Mallory cannot take Blair's name.
        let stolen = try await sandbox.run("mallory", "directory", "register", "blair")
        #expect(stolen.status == 65)
        #expect(stolen.stderr.contains("held by another key"))

        // Before any lookup, Alex has nothing to verify Blair with.
        let nothing = try await sandbox.run("alex", "verify", String(relationship.prefix(12)))
        #expect(nothing.status == 66)
        #expect(try await sandbox.run("alex", "contacts").stdout.contains("unverified"))

        let lookup = try await sandbox.run("alex", "directory", "lookup", "blair@example.org", "--json")
        #expect(lookup.status == 0, "\(lookup.stderr)")
        let entry = try #require(try lookup.json() as? [String: Any])
        #expect(entry["identityKey"] as? String == Base64URL.encode(blair.publicIdentity.rawRepresentation))

        let verified = try await sandbox.run("alex", "verify", String(relationship.prefix(12)))
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("is blair@example.org"))
        #expect(try await sandbox.run("alex", "contacts").stdout.contains("verified blair@example.org"))
        let listed = try await #require(try sandbox.run("alex", "contacts", "--json").json() as? [[String: Any]])
        #expect(listed.first?["verifiedName"] as? String == "blair@example.org")

        // A name attested for another key does not verify this contact.
        let wrongName = try await sandbox.run("alex", "verify", String(relationship.prefix(12)), "--name", "mallory@example.org")
        #expect(wrongName.status == 65)
        #expect(wrongName.stderr.contains("another key"))
        _ = mallory

        // Offline: the directory is gone, the stored proof still verifies.
        await directory.stop()
        let offline = try await sandbox.run("alex", "verify", String(relationship.prefix(12)))
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(try await sandbox.run("alex", "directory", "lookup", "blair@example.org").status == 69)
    }

    @Test func serveDirectoryPrintsItsKeyAndServesTheCommands() async throws {
        let sandbox = try DirectoryCLISandbox()
        let data = sandbox.root.appendingPathComponent("directory-data")
        let process = ChildProcess()
        process.executableURL = try DirectoryCLISandbox.executable()
        process.arguments = ["serve", "directory", "--namespace", "example.org", "--listen", "127.0.0.1:0", "--data", data.path, "--policy", "approve"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var text = ""
        while text.split(separator: "\n").count < 2 {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        try #require(lines.count >= 2, "\(text)")
        let url = try #require(lines[0].split(separator: " ").last.map(String.init))
        #expect(lines[0].hasPrefix("listening on http://127.0.0.1:"))
        let key = try #require(lines[1].split(separator: " ").last.map(String.init))
        #expect(lines[1].hasPrefix("verifier key example.org/directory+"))
        let attributes = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("directory-key").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        try sandbox.createProfile("alex", persona: "Alex")
        #expect(try await sandbox.run("alex", "directory", "add", url, "--key", key).status == 0)
        #expect(try await sandbox.run("alex", "directory", "register", "alex").stdout.contains("must approve"))
        #expect(try await sandbox.run(nil, "directory", "approve", "alex", "--data", data.path).status == 0)
        let lookup = try await sandbox.run("alex", "directory", "lookup", "alex@example.org")
        #expect(lookup.status == 0, "\(lookup.stderr)")
        #expect(try await sandbox.run(nil, "directory", "approve", "alex", "--data", sandbox.root.appendingPathComponent("typo").path).status == 66)
        #expect(!FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("typo").path))
    }

    @Test func addRefusesADirectoryThatShowsAnotherKey() async throws {
        let sandbox = try DirectoryCLISandbox()
        let directory = try await DirectoryServiceFixture.start()
        defer { Task { await directory.stop() } }
        try sandbox.createProfile("alex", persona: "Alex")
        let otherKey = try DirectoryKey(name: directory.info.origin, privateKey: Ed25519.PrivateKey()).verifier.verifierKey
        let refused = try await sandbox.run("alex", "directory", "add", directory.url, "--key", otherKey)
        #expect(refused.status == 76)
        #expect(try await sandbox.run("alex", "directory", "list", "--json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        #expect(try await sandbox.run("alex", "directory", "add", directory.url, "--key", "not-a-key").status == 64)
    }

    @Test func operatorApprovesAndAllowsThroughTheDataDirectory() async throws {
        let sandbox = try DirectoryCLISandbox()
        let approving = try await DirectoryServiceFixture.start(policy: .approve)
        defer { Task { await approving.stop() } }
        try sandbox.createProfile("alex", persona: "Alex")
        #expect(try await sandbox.run("alex", "directory", "add", approving.url, "--key", approving.info.verifierKey).status == 0)
        let asked = try await sandbox.run("alex", "directory", "register", "alex")
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(asked.stdout.contains("must approve"))
        #expect(try await approving.logSize() == 0)
        #expect(try await sandbox.run(nil, "directory", "pending", "--data", approving.dataDirectory.path).stdout.contains("alex"))
        let approved = try await sandbox.run(nil, "directory", "approve", "alex", "--data", approving.dataDirectory.path)
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(try await approving.logSize() == 1)
        #expect(try await sandbox.run("alex", "directory", "lookup", "alex@example.org").status == 0)
        #expect(try await sandbox.run(nil, "directory", "approve", "nobody", "--data", approving.dataDirectory.path).status == 65)

        let allowlist = try await DirectoryServiceFixture.start(policy: .allowlist)
        defer { Task { await allowlist.stop() } }
        try sandbox.createProfile("blair", persona: "Blair")
        #expect(try await sandbox.run("blair", "directory", "add", allowlist.url, "--key", allowlist.info.verifierKey).status == 0)
        #expect(try await sandbox.run("blair", "directory", "register", "blair").status == 65)
        #expect(try await allowlist.logSize() == 0)
        #expect(try await sandbox.run(nil, "directory", "allow", "blair", "--data", allowlist.dataDirectory.path).status == 0)
        let registered = try await sandbox.run("blair", "directory", "register", "blair")
        #expect(registered.status == 0, "\(registered.stderr)")
        #expect(try await allowlist.logSize() == 1)
    }

    @Test func ownerListsApprovesAndDeniesContactRequests() async throws {
        let sandbox = try DirectoryCLISandbox()
        let directory = try await DirectoryServiceFixture.start(brokered: true)
        defer { Task { await directory.stop() } }
        let alex = try sandbox.createProfile("alex", persona: "Alex")
        #expect(try await sandbox.run("alex", "directory", "add", directory.url, "--key", directory.info.verifierKey).status == 0)
        #expect(try await sandbox.run("alex", "directory", "register", "alex").status == 0)
        let package = try KeyPackage(
            identity: alex.identityKey, signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: [X25519.PrivateKey().publicKey],
            route: nil, expires: Date().addingTimeInterval(3_600))
        let client = DirectoryClient(baseURL: directory.url)
        _ = try await client.publish(name: "alex", package: package, rule: .approval, key: alex.identityKey)
        let blair = Ed25519.PrivateKey()
        let mallory = Ed25519.PrivateKey()
        let blairRequest = try #require(try await client.fetchKeyPackage(name: "alex", key: blair).requestID)
        let malloryRequest = try #require(try await client.fetchKeyPackage(name: "alex", key: mallory).requestID)

        let listed = try await sandbox.run("alex", "requests", "list", "--json")
        #expect(listed.status == 0, "\(listed.stderr)")
        let requests = try #require(try listed.json() as? [[String: Any]])
        #expect(Set(requests.compactMap { $0["id"] as? String }) == [blairRequest, malloryRequest])
        #expect(try await sandbox.run("alex", "requests", "approve", blairRequest).status == 0)
        #expect(try await sandbox.run("alex", "requests", "deny", malloryRequest).status == 0)
        #expect(try await sandbox.run("alex", "requests", "approve", "no-such-request").status == 67)

        #expect(try await client.fetchKeyPackage(name: "alex", key: blair).oneTimePrekeyIncluded)
        #expect(await DirectoryServiceBrokerTests.refusal { try await client.fetchKeyPackage(name: "alex", key: mallory) }?.status == 403)
    }

    @Test func fetchChecksTheVendedKeyPackageAgainstTheAttestationAndTheRules() async throws {
        let sandbox = try DirectoryCLISandbox()
        let directory = try await DirectoryServiceFixture.start(brokered: true)
        defer { Task { await directory.stop() } }
        let client = DirectoryClient(baseURL: directory.url)
        try sandbox.createProfile("alex", persona: "Alex")
        #expect(try await sandbox.run("alex", "directory", "add", directory.url, "--key", directory.info.verifierKey).status == 0)
        var owners = [String: Ed25519.PrivateKey]()
        for (name, rule) in [("opendoor", BrokerAPI.ContactRule.open), ("members", .attested), ("gated", .approval)] {
            let key = Ed25519.PrivateKey()
            owners[name] = key
            #expect(try await directory.register(name, key: key).status == 201)
            let package = try KeyPackage(
                identity: key, signedPrekey: X25519.PrivateKey().publicKey, oneTimePrekeys: [X25519.PrivateKey().publicKey], route: nil,
                expires: Date().addingTimeInterval(3_600))
            _ = try await client.publish(name: name, package: package, rule: rule, key: key)
        }

        let open = try await sandbox.run("alex", "directory", "fetch", "opendoor@example.org", "--json")
        #expect(open.status == 0, "\(open.stderr)")
        let vended = try #require(try open.json() as? [String: Any])
        #expect(vended["state"] as? String == "vended")
        #expect(vended["identityKey"] as? String == owners["opendoor"]!.publicKey.b64)
        #expect(vended["oneTimePrekeyIncluded"] as? Bool == true)
        let again = try await #require(try sandbox.run("alex", "directory", "fetch", "opendoor@example.org", "--json").json() as? [String: Any])
        #expect(again["oneTimePrekeyIncluded"] as? Bool == false, "the only one-time prekey went to the first fetch")

        // 'attested': refused until Alex presents an attestation of her own key.
        #expect(try await sandbox.run("alex", "directory", "fetch", "members@example.org").status == 65)
        #expect(try await sandbox.run("alex", "directory", "fetch", "members@example.org", "--attest").status == 66)
        #expect(try await sandbox.run("alex", "directory", "register", "alex").status == 0)
        let member = try await sandbox.run("alex", "directory", "fetch", "members@example.org", "--attest")
        #expect(member.status == 0, "\(member.stderr)")
        #expect(member.stdout.contains("the attested key"))

        // 'approval': the first fetch files a request.
        let gated = try await #require(try sandbox.run("alex", "directory", "fetch", "gated@example.org", "--json").json() as? [String: Any])
        #expect(gated["state"] as? String == "pending")
        #expect(gated["requestID"] as? String != nil)
    }

    /// A directory that signs two different trees of one size is caught.
    @Test func auditCatchesTwoCheckpointsOfOneSizeWithDifferentRoots() async throws {
        try await auditCatchesAFork(honestNames: ["alice"], forkedNames: ["mallory"], expecting: "same size")
    }

    /// A directory whose new tree does not extend the old one is caught.
    @Test func auditCatchesATreeThatDoesNotExtendTheOldOne() async throws {
        try await auditCatchesAFork(honestNames: ["alice", "bob"], forkedNames: ["alice", "mallory", "eve"], expecting: "does not extend")
    }

    /// A directory that shows an older, different tree is caught.
    @Test func auditCatchesARollback() async throws {
        try await auditCatchesAFork(honestNames: ["alice", "bob", "carol"], forkedNames: ["mallory"], expecting: "ROLLBACK")
    }

    /// The honest log grows from `honestNames`; then the directory's data is swapped for a log
    /// with the same key whose leaves are `forkedNames`, served at the same URL.
    private func auditCatchesAFork(honestNames: [String], forkedNames: [String], expecting: String) async throws {
        let sandbox = try DirectoryCLISandbox()
        let honest = try await DirectoryServiceFixture.start()
        try sandbox.createProfile("alex", persona: "Alex")
        #expect(try await sandbox.run("alex", "directory", "add", honest.url, "--key", honest.info.verifierKey).status == 0)
        for name in honestNames { #expect(try await honest.register(name, key: Ed25519.PrivateKey()).status == 201) }
        let audited = try await sandbox.run("alex", "directory", "audit", "--json")
        #expect(audited.status == 0, "\(audited.stderr)")
        #expect(audited.stdout.contains("consistent"))
        let port = honest.service.port
        await honest.stop()

        // The same key and namespace, a different history.
        let forkedData = DirectoryServiceFixture.newDataDirectory()
        try FileManager.default.createDirectory(at: forkedData, withIntermediateDirectories: true)
        for file in ["directory-key", "directory.json"] {
            try FileManager.default.copyItem(
                at: honest.dataDirectory.appendingPathComponent(file), to: forkedData.appendingPathComponent(file))
        }
        let forked = try await DirectoryServiceFixture.start(dataDirectory: forkedData, port: port)
        defer { Task { await forked.stop() } }
        #expect(forked.info.verifierKey == honest.info.verifierKey)
        for name in forkedNames { #expect(try await forked.register(name, key: Ed25519.PrivateKey()).status == 201) }

        let caught = try await sandbox.run("alex", "directory", "audit")
        #expect(caught.status == 76)
        #expect(caught.stderr.contains("DIRECTORY MISBEHAVIOUR"))
        #expect(caught.stderr.contains(expecting), "\(caught.stderr)")
        // The evidence is kept, and the forked checkpoint was not accepted: it is caught again.
        let list = try await #require(try sandbox.run("alex", "directory", "list", "--json").json() as? [[String: Any]])
        #expect(list.first?["forkEvidence"] as? Int == 1)
        #expect(list.first?["checkpointSize"] as? Int == honestNames.count)
        #expect(try await sandbox.run("alex", "directory", "audit").status == 76)
        // A lookup through the forked directory is refused as well.
        let lookup = try await sandbox.run("alex", "directory", "lookup", "\(forkedNames[0])@example.org")
        #expect(lookup.status == 76)
    }
}
