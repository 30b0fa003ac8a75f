import Foundation
import ProtonTestSupport
import ProtonCore
import ProtonCrypto
import ProtonStore
import Testing

/// Invites and pairings that carry the directory's attestation of the sender's name, through
/// the real `proton` binary, real services and a real `proton serve directory`: a verified
/// attestation makes the contact "verified NAME@NS"; anything else leaves it "unverified", says
/// why, and stores nothing, while the relationship itself still starts.
@Suite("Attested invites and pairings", .serialized)
struct AttestedContactTests {
    /// `proton serve directory` on loopback, stopped with SIGTERM.
    final class Directory {
        let process = ChildProcess()
        let url: String
        let key: String

        convenience init(data: URL, namespace: String = "example.org", listen: String = "127.0.0.1:0", extra: [String] = []) throws {
            try self.init(arguments: ["serve", "directory", "--namespace", namespace, "--listen", listen, "--data", data.path] + extra)
        }

        /// `proton serve witness` for the log `log` (a verifier key); `key` is its cosigner key.
        static func witness(data: URL, log: String, listen: String = "127.0.0.1:0") throws -> Directory {
            try Directory(arguments: ["serve", "witness", "--name", "witness.example.org/w1", "--log", log, "--listen", listen, "--data", data.path])
        }

        /// A `proton serve` that prints `listening on URL` and then a line ending in a key.
        init(arguments: [String]) throws {
            process.executableURL = try InviteSandbox.executable()
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var text = ""
            while text.split(separator: "\n").count < 2 {
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.count >= 2, let url = lines[0].split(separator: " ").last, let key = lines[1].split(separator: " ").last else {
                process.terminate()
                throw DirectoryDidNotStart(output: text)
            }
            self.url = String(url)
            self.key = String(key)
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }

        deinit { stop() }

        struct DirectoryDidNotStart: Error { let output: String }
    }

    static func json(_ run: Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
    }

    static func contacts(_ sandbox: InviteSandbox, _ person: String) async throws -> [[String: Any]] {
        let run = try await sandbox.require(sandbox.run(person, "contacts", "--json"))
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
    }

    static func storedBundles(_ sandbox: InviteSandbox, _ person: String) throws -> Int {
        let store = try ProfileStore.open(at: sandbox.profile(person))
        defer { try? store.close() }
        guard let data = try store.document(.directoryTrust) else { return 0 }
        let state = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (state["bundles"] as? [Any])?.count ?? 0
    }

    /// `sandbox.run` as a sendable value, for a run beside another one.
    struct Invocation: Sendable {
        let arguments: [String]
        let environment: [String: String]
        let root: URL

        init(_ sandbox: InviteSandbox, _ person: String, _ arguments: [String]) {
            self.arguments = arguments
            environment = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": sandbox.root.path,
                "PROTON_HOME": sandbox.profile(person).path,
            ]
            root = sandbox.root
        }

        func run() async throws -> Run { try await InviteSandbox.launch(arguments, environment: environment, input: nil, directory: root) }
    }

    /// Both sides pair over a local socket, the way two laptops pair over RFCOMM.
    static func pair(_ sandbox: InviteSandbox, listener: String, initiator: String, extra: [String] = []) async throws -> (Run, Run) {
        let path = sandbox.root.appendingPathComponent("pair-\(UUID().uuidString.prefix(8)).sock").path
        let listening = Invocation(sandbox, listener, ["pair", "--unix-socket", path, "--listen", "--yes", "--json", "--timeout", "30"] + extra)
        async let listened = listening.run()
        var waited = 0
        while !FileManager.default.fileExists(atPath: path) && waited < 300 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        let initiated = try await sandbox.run(initiator, arguments: ["pair", "--unix-socket", path, "--yes", "--json", "--timeout", "30"])
        return (try await listened, initiated)
    }

    @Test func anAttestedPairingEndsWithBothContactsVerified() async throws {
        let sandbox = try InviteSandbox()
        let directory = try Directory(data: sandbox.root.appendingPathComponent("directory"))
        defer { directory.stop() }
        for person in ["Alex", "Blair"] {
            try await sandbox.makeProfile(person)
            try await sandbox.require(sandbox.run(person, "directory", "add", directory.url, "--key", directory.key))
            try await sandbox.require(sandbox.run(person, "directory", "register", person.lowercased()))
        }
        let (alex, blair) = try await Self.pair(sandbox, listener: "Alex", initiator: "Blair")
        try sandbox.require(alex)
        try sandbox.require(blair)
        let alexCheck = try #require(try Self.json(alex)["peerAttestation"] as? [String: Any])
        let blairCheck = try #require(try Self.json(blair)["peerAttestation"] as? [String: Any])
        #expect(alexCheck["verifiedName"] as? String == "blair@example.org", "\(alexCheck)")
        #expect(blairCheck["verifiedName"] as? String == "alex@example.org", "\(blairCheck)")

        let listed = try await Self.contacts(sandbox, "Blair")
        #expect(listed.first?["verifiedName"] as? String == "alex@example.org")
        #expect(try await sandbox.require(sandbox.run("Blair", "contacts")).stdout.contains("verified alex@example.org"))

        // The stored proof verifies offline, as one from 'proton directory lookup' would.
        directory.stop()
        let verified = try await sandbox.require(sandbox.run("Blair", "verify", "Alex"))
        #expect(verified.stdout.contains("Alex is alex@example.org"))
    }

    @Test func anAttestationFromAnotherDirectoryOrNoneLeavesTheContactUnverified() async throws {
        let sandbox = try InviteSandbox()
        let directory = try Directory(data: sandbox.root.appendingPathComponent("directory"))
        // Another directory for the same namespace, with its own key: its word is not the pinned one's.
        let impostor = try Directory(data: sandbox.root.appendingPathComponent("impostor"))
        defer {
            directory.stop()
            impostor.stop()
        }
        for person in ["Alex", "Blair", "Casey"] { try await sandbox.makeProfile(person) }
        try await sandbox.require(sandbox.run("Alex", "directory", "add", impostor.url, "--key", impostor.key))
        try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))
        try await sandbox.require(sandbox.run("Blair", "directory", "add", directory.url, "--key", directory.key))

        // Blair pinned another key for example.org: Alex's attestation does not verify under it.
        let (alex, blair) = try await Self.pair(sandbox, listener: "Alex", initiator: "Blair")
        try sandbox.require(alex)
        try sandbox.require(blair)
        let check = try #require(try Self.json(blair)["peerAttestation"] as? [String: Any])
        #expect(check["presented"] as? Bool == true)
        #expect(check["verifiedName"] == nil)
        let reason = try #require(check["reason"] as? String)
        #expect(reason.contains("checkpoint was refused") || reason.contains("signature does not verify"), "\(reason)")
        #expect(blair.stderr.isEmpty || !blair.stderr.contains("Verified"))
        #expect(try await Self.contacts(sandbox, "Blair").first?["verified"] as? Bool == false)
        #expect(try Self.storedBundles(sandbox, "Blair") == 0)

        // Casey pinned nothing: the pairing stands, unverified, and the text says why in one line.
        let path = sandbox.root.appendingPathComponent("casey.sock").path
        let listening = Invocation(sandbox, "Alex", ["pair", "--unix-socket", path, "--listen", "--yes", "--timeout", "30"])
        async let listened = listening.run()
        while !FileManager.default.fileExists(atPath: path) { try await Task.sleep(for: .milliseconds(100)) }
        let casey = try await sandbox.require(sandbox.run("Casey", "pair", "--unix-socket", path, "--yes", "--timeout", "30"))
        try sandbox.require(try await listened)
        #expect(casey.stdout.contains("Unverified: no directory is pinned for example.org."), "\(casey.stdout)")
        #expect(try await sandbox.require(sandbox.run("Casey", "contacts")).stdout.contains("unverified"))
    }

    @Test func choosingAndRefusingAnAttestationAreExclusive() async throws {
        let sandbox = try InviteSandbox()
        let run = try await sandbox.run("Alex", "pair", "--listen", "--attestation", "alex@example.org", "--no-attestation")
        #expect(run.status == 64)
        #expect(run.stderr.contains("not both"), "\(run.stderr)")
    }

    @Test func anAttestedInviteIsAcceptedAsVerified() async throws {
        let sandbox = try InviteSandbox()
        let directory = try Directory(data: sandbox.root.appendingPathComponent("directory"))
        defer { directory.stop() }
        for person in ["Alex", "Blair"] {
            try await sandbox.makeProfile(person)
            try await sandbox.require(sandbox.run(person, "directory", "add", directory.url, "--key", directory.key))
        }
        try await sandbox.require(sandbox.run("Alex", "directory", "register", "alex"))

        // Without --attestation the invite is as before: a version-1 invite within version 10.
        let plain = try Self.json(try await sandbox.require(sandbox.run("Alex", "invite", "--json")))
        #expect((plain["qrVersion"] as? Int ?? 99) <= 10)
        #expect(plain["attestation"] == nil)
        #expect(try Base45.decode(try #require(plain["invite"] as? String), limit: 4_096)[1] == 1)

        let report = try Self.json(try await sandbox.require(sandbox.run("Alex", "invite", "--attestation", "alex@example.org", "--json")))
        let text = try #require(report["invite"] as? String)
        let version = try #require(report["qrVersion"] as? Int)
        print("attested invite: \(report["bytes"] ?? "?") bytes, \(text.count) Base45 characters, QR version \(version)-M")
        #expect(report["attestation"] as? String == "alex@example.org")
        #expect(version > 10 && version <= 30)
        #expect(try Invite(qrText: text).attestation != nil)

        let accepted = try await sandbox.require(sandbox.run("Blair", "accept", text))
        #expect(accepted.stdout.contains("Verified: "), "\(accepted.stdout)")
        let listed = try await Self.contacts(sandbox, "Blair")
        #expect(listed.first?["verifiedName"] as? String == "alex@example.org")
        #expect(try await sandbox.require(sandbox.run("Blair", "contacts")).stdout.contains("verified alex@example.org"))
        let relationship = try #require(listed.first?["relationshipID"] as? String)
        directory.stop()
        try await sandbox.require(sandbox.run("Blair", "verify", String(relationship.prefix(12))))

        // Naming an attestation the persona does not hold is a usage error, before any address is made.
        let missing = try await sandbox.run("Blair", "invite", "--attestation", "blair@example.org")
        #expect(missing.status == 64, "\(missing.stderr)")
        #expect(missing.stderr.contains("proton directory register"))
    }

    @Test func anInviteWithAMalformedAttestationIsAcceptedUnverifiedWithNothingStored() async throws {
        let sandbox = try InviteSandbox()
        let directory = try Directory(data: sandbox.root.appendingPathComponent("directory"))
        defer { directory.stop() }
        try await sandbox.makeProfile("Blair")
        try await sandbox.require(sandbox.run("Blair", "directory", "add", directory.url, "--key", directory.key))
        try await sandbox.require(sandbox.run("Blair", "receive"))

        for garbage in [Array("alex@example.org, trust me".utf8), [0x09, 0x01, 0xff, 0xff] + [UInt8](repeating: 7, count: 64)] {
            let mallory = try Persona(displayName: "Mallory", random: SystemRandom())
            let route = try Route(
                serviceURI: "https://rs.example.org/v1", serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom()))
            let invite = Invite(
                identity: mallory.identityKey, prekey: X25519.PrivateKey().publicKey, route: route, expires: Date().addingTimeInterval(600),
                attestation: garbage)
            let accepted = try await sandbox.require(sandbox.run("Blair", "accept", "--offline", invite.qrText))
            #expect(accepted.stderr.contains("Unverified: the attestation does not parse"), "\(accepted.stderr)")
        }
        #expect(try await Self.contacts(sandbox, "Blair").allSatisfy { $0["verified"] as? Bool == false })
        #expect(try Self.storedBundles(sandbox, "Blair") == 0)
    }
}
