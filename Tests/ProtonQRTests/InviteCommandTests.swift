import Foundation
import ProtonCore
import ProtonCrypto
import ProtonQR
import ProtonStore
import Testing

/// `proton invite` and `proton accept` as a person runs them: the built binary, real
/// `proton serve` services on loopback, profiles on disk.
@Suite("proton invite and accept", .serialized)
struct InviteCommandTests {
    // MARK: - The printed QR code

    @Test(.enabled(if: ZBar.isInstalled, "\(ZBar.missing)"), arguments: [
        (["LANG": "C.UTF-8"], [String](), TerminalRendering.Style.halfBlocks, false),
        (["LANG": "en_US.UTF-8"], ["--invert"], .halfBlocks, true),
        (["LANG": nil, "LC_ALL": nil], [], .ascii, false),
        (["LANG": "C.UTF-8"], ["--ascii", "--invert"], .ascii, true),
    ] as [([String: String?], [String], TerminalRendering.Style, Bool)])
    func thePrintedQRCodeDecodesToTheInviteTextUnderIt(
        environment: [String: String?], flags: [String], style: TerminalRendering.Style, invert: Bool
    ) async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        let printed = try await sandbox.require(sandbox.run("Alex", arguments: ["invite", "--qr"] + flags, environment: environment))
        let lines = printed.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let codeEnd = try #require(lines.firstIndex { $0.hasPrefix("Invite from Alex") })
        let rendering = lines[..<codeEnd].joined(separator: "\n")
        let text = printed.lastLine
        #expect(printed.stdout.contains("a version 10-M QR code"))

        // What a camera pointed at the terminal sees: the characters turned back into modules.
        let seen = try TerminalRendering.modules(fromRendering: rendering, style: style, invert: invert)
        #expect(try await ZBar.decode(png: PNGWriter.encode(seen, scale: 4)) == text)
        #expect(try Invite(qrText: text).route.serviceURI == sandbox.receivingURL)
    }

    @Test func withoutATerminalOnlyTheTextIsPrinted() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        let printed = try await sandbox.require(sandbox.run("Alex", "invite", "--expires", "1h"))
        #expect(printed.stdout.split(separator: "\n").count == 1)
        let invite = try Invite(qrText: printed.stdout)
        #expect(invite.expires > Date().addingTimeInterval(3_000))
        let json = try await sandbox.require(sandbox.run("Alex", "invite", "--json"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["qrVersion"] as? Int == 10)
        #expect(report["bytes"] as? Int == 205)
        #expect(report["characters"] as? Int == 308)
        let store = try sandbox.openStore("Alex")
        defer { try? store.close() }
        #expect(try store.pendingInvites().count == 2)
    }

    @Test(.enabled(if: ZBar.isInstalled, "\(ZBar.missing)"))
    func thePNGDecodesAndAcceptReadsIt() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        let image = sandbox.root.appendingPathComponent("invite.png").path
        let text = try await sandbox.require(sandbox.run("Alex", "invite", "--png", image, "--scale", "3")).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await ZBar.decode(file: URL(fileURLWithPath: image)) == text)
        try await sandbox.require(sandbox.run("Blair", "accept", "--image", image))
        let received = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(received.stdout.contains("Blair accepted your invite"))
    }

    // MARK: - Both modes end in two protons that talk

    @Test func oneWayAcceptanceIsCompletedByTheInvitersReceiveAgent() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        let text = try await sandbox.require(sandbox.run("Alex", "invite")).stdout
        // Pasted on standard input.
        let accepted = try await sandbox.require(sandbox.run("Blair", "accept", "--message", "Hello Alex, it's Blair.", input: text))
        let blairNumber = try #require(accepted.stdout.split(separator: "\n").first { $0.hasPrefix("Safety number") })

        let completed = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(completed.stdout.contains("Blair accepted your invite"))
        #expect(completed.stdout.contains("Blair: Hello Alex, it's Blair."))
        #expect(completed.stdout.contains(String(blairNumber.split(separator: ": ").last!)))

        try await talk(sandbox)
    }

    @Test func offlineAcceptanceAndReplyNeedNoNetwork() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        // While online, each side's receive registers spare addresses for later offline use.
        try await sandbox.require(sandbox.run("Alex", "receive"))
        try await sandbox.require(sandbox.run("Blair", "receive"))

        sandbox.stopServices()
        let invite = try await sandbox.require(sandbox.run("Alex", "invite", "--offline")).lastLine
        let replyRun = try await sandbox.require(sandbox.run("Blair", "accept", "--offline", "--message", "Hi from the train", invite))
        let reply = replyRun.lastLine
        #expect(try Base45.decode(reply, limit: 8_192).count < 600)
        let json = try await sandbox.require(sandbox.run("Alex", "accept", "--reply", "--json", reply))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["contact"] as? String == "Blair")

        let alex = try sandbox.openStore("Alex")
        let blair = try sandbox.openStore("Blair")
        let alexProton = try alex.proton(try #require(try alex.protons().first).id)
        let blairProton = try blair.proton(try #require(try blair.protons().first).id)
        #expect(alexProton.safetyNumber == blairProton.safetyNumber)
        #expect(try alex.messages(protonID: try alex.protons()[0].id).map(\.body) == [Array("Hi from the train".utf8)])
        try alex.close()
        try blair.close()

        try sandbox.restartServices()
        try await talk(sandbox)
    }

    @Test func passphraseProtectedProfilesSealTheInvitesSecretsAndStillPair() async throws {
        let sandbox = try InviteSandbox()
        let secret: [String: String?] = ["PROTON_PASSPHRASE": "correct horse battery staple"]
        for name in ["Alex", "Blair"] {
            try await sandbox.require(sandbox.run(name, "init", "--name", name, environment: secret))
            try await sandbox.require(sandbox.run(name, "services", "add", "receiving", sandbox.receivingURL, environment: secret))
            try await sandbox.require(sandbox.run(name, "services", "add", "sending", sandbox.sendingURL, environment: secret))
            try await sandbox.require(sandbox.run(name, "receive", environment: secret))
        }
        let invite = try await sandbox.require(sandbox.run("Alex", "invite", "--offline", environment: secret)).lastLine
        // Without the passphrase the pending invite's prekey cannot be opened.
        let reply = try await sandbox.require(sandbox.run("Blair", "accept", "--offline", invite, environment: secret)).lastLine
        #expect(try await sandbox.run("Alex", "accept", "--reply", reply).status == 77)
        try await sandbox.require(sandbox.run("Alex", "accept", "--reply", reply, environment: secret))
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "sealed at rest", environment: secret))
        #expect(try await sandbox.require(sandbox.run("Blair", "receive", environment: secret)).stdout.contains("Alex: sealed at rest"))
    }

    /// Messages both ways through the agents after either start.
    func talk(_ sandbox: InviteSandbox) async throws {
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Welcome, Blair."))
        let atBlair = try await sandbox.require(sandbox.run("Blair", "receive"))
        #expect(atBlair.stdout.contains("Alex: Welcome, Blair."))
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", "Thanks, Alex."))
        let atAlex = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(atAlex.stdout.contains("Blair: Thanks, Alex."))
    }

    // MARK: - Refusals

    @Test func anInviteIsUsedOnceOnBothSides() async throws {
        let sandbox = try InviteSandbox()
        for name in ["Alex", "Blair", "Carol"] { try await sandbox.makeProfile(name) }
        let text = try await sandbox.require(sandbox.run("Alex", "invite")).stdout
        try await sandbox.require(sandbox.run("Blair", "accept", text))
        let again = try await sandbox.run("Blair", "accept", text)
        #expect(again.status == 76)
        #expect(again.stderr.contains("already used: you accepted it"))
        let own = try await sandbox.run("Alex", "accept", text)
        #expect(own.status == 64)
        #expect(own.stderr.contains("your own personas"))

        // Carol accepts the same invite after Blair: Alex's agent starts one relationship only.
        try await sandbox.require(sandbox.run("Carol", "accept", text))
        let received = try await sandbox.require(sandbox.run("Alex", "receive"))
        #expect(received.stdout.contains("Blair accepted your invite"))
        #expect(received.stderr.contains("already used"))
        let alex = try sandbox.openStore("Alex")
        defer { try? alex.close() }
        #expect(try alex.protons().map(\.peerDisplayName) == ["Blair"])
    }

    @Test func aReplyIsReadOnce() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        try await sandbox.require(sandbox.run("Blair", "receive"))
        let invite = try await sandbox.require(sandbox.run("Alex", "invite")).lastLine
        let reply = try await sandbox.require(sandbox.run("Blair", "accept", "--offline", invite)).lastLine
        try await sandbox.require(sandbox.run("Alex", "accept", "--reply", reply))
        let again = try await sandbox.run("Alex", "accept", "--reply", reply)
        #expect(again.status == 76)
        #expect(again.stderr.contains("already used"))
        let alex = try sandbox.openStore("Alex")
        defer { try? alex.close() }
        #expect(try alex.protons().count == 1)
    }

    @Test func anExpiredInviteIsRefusedWithNothingStored() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Blair")
        let expired = try Self.forgedInvite(serviceURI: sandbox.receivingURL, expires: Date().addingTimeInterval(-1))
        let run = try await sandbox.run("Blair", "accept", expired.qrText)
        #expect(run.status == 76)
        #expect(run.stderr.contains("expired"))
        try expectNothingStored(sandbox, "Blair")
    }

    @Test func anExpiredInviteIsRefusedWhenItsReplyIsRead() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.require(sandbox.run("Alex", "receive"))
        // Alex's invite expired a minute ago; Blair's reply was made before that.
        let expiry = Date().addingTimeInterval(-60)
        let alex = try sandbox.openStore("Alex")
        let personaID = try alex.personas()[0].id
        let route = try #require(try alex.transaction { try $0.takeSpareAddress(now: Date()) })
        let prekey = ProtonCrypto.X25519.PrivateKey()
        let invite = Invite(identity: try alex.persona(personaID).identityKey, prekey: prekey.publicKey, route: route.route, expires: expiry)
        try alex.addPendingInvite(personaID: personaID, invite: invite, prekey: prekey, route: route)
        try alex.close()
        let blair = try Persona(displayName: "Blair", random: ProtonCrypto.SystemRandom())
        let started = try Proton.initiate(
            persona: blair, invite: invite, ourRoutes: [route], body: [], now: expiry.addingTimeInterval(-30), random: ProtonCrypto.SystemRandom())
        let run = try await sandbox.run("Alex", "accept", "--reply", Base45.encode(started.initialMessage.encoded()))
        #expect(run.status == 76)
        #expect(run.stderr.contains("expired"))
        let after = try sandbox.openStore("Alex")
        defer { try? after.close() }
        #expect(try after.protons().isEmpty)
        #expect(try after.pendingInvites().count == 1)
    }

    @Test func aTamperedReplyIsRefusedAndTheInviteStays() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        try await sandbox.require(sandbox.run("Blair", "receive"))
        let invite = try await sandbox.require(sandbox.run("Alex", "invite")).lastLine
        let reply = try await sandbox.require(sandbox.run("Blair", "accept", "--offline", invite)).lastLine
        var bytes = try Base45.decode(reply, limit: 8_192)
        bytes[bytes.count - 10] ^= 0x40
        let run = try await sandbox.run("Alex", "accept", "--reply", Base45.encode(bytes))
        #expect(run.status == 65)
        #expect(run.stderr.contains("altered or forged"))
        let alex = try sandbox.openStore("Alex")
        defer { try? alex.close() }
        #expect(try alex.protons().isEmpty)
        #expect(try alex.pendingInvites().count == 1)
        // A reply pasted where an invite belongs, and an invite where a reply belongs, say so.
        #expect(try await sandbox.run("Alex", "accept", reply).stderr.contains("--reply"))
        #expect(try await sandbox.run("Alex", "accept", "--reply", invite).stderr.contains("not a reply"))
    }

    @Test(arguments: [
        ("tampered", Int32(65), "signature"),
        ("garbage", 65, "not a valid invite"),
        ("lowercase", 65, "not a valid invite"),
        ("truncated", 65, "not a valid invite"),
        ("oversized", 65, "longer than any invite"),
        ("nonBase45", 65, "not a valid invite"),
        ("empty", 64, "nothing to read"),
    ])
    func badInviteTextIsRefusedWithNothingStored(kind: String, status: Int32, message: String) async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        try await sandbox.makeProfile("Blair")
        let text = try await sandbox.require(sandbox.run("Alex", "invite")).lastLine
        let bad: String
        switch kind {
        case "tampered":
            // Another valid invite encoding, one byte of the route changed: only the signature tells.
            var bytes = try Base45.decode(text, limit: 1_000)
            bytes[100] ^= 0x01
            bad = Base45.encode(bytes)
        case "garbage": bad = "HELLO WORLD"
        case "lowercase": bad = text.lowercased()
        case "truncated": bad = String(text.dropLast(3))
        case "oversized": bad = String(repeating: text, count: 30)
        case "nonBase45": bad = String(text.dropLast()) + "#"
        default: bad = "   "
        }
        let run = try await sandbox.run("Blair", "accept", bad)
        #expect(run.status == status, "\(run.stderr)")
        #expect(run.stderr.contains(message), "\(run.stderr)")
        try expectNothingStored(sandbox, "Blair")
    }

    @Test func withoutAReceivingServiceThereIsNoInvite() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.require(sandbox.run("Alex", "init", "--name", "Alex"))
        let run = try await sandbox.run("Alex", "invite")
        #expect(run.status == 69)
        #expect(run.stderr.contains("proton services add receiving"))
        let offline = try await sandbox.run("Alex", "invite", "--offline")
        #expect(offline.status == 69)
        try expectNothingStored(sandbox, "Alex")
    }

    @Test func withoutZbarImageAndCameraSayHowToInstallIt() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Blair")
        let image = sandbox.root.appendingPathComponent("invite.png")
        try Data([0]).write(to: image)
        for arguments in [["accept", "--image", image.path], ["accept", "--camera"], ["accept", "--reply", "--image", image.path]] {
            let run = try await sandbox.run("Blair", arguments: arguments, environment: ["PATH": "/nonexistent"])
            #expect(run.status == 69)
            #expect(run.stderr.contains("apt-get install zbar-tools"))
            #expect(run.stderr.contains("paste the text"))
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
        try expectNothingStored(sandbox, "Blair")
    }

    // MARK: - Helpers

    static func forgedInvite(serviceURI: String, expires: Date) throws -> Invite {
        let route = try Route(
            serviceURI: serviceURI, serviceKey: ProtonCrypto.SealedBox.PrivateKey().publicKey,
            address: AddressID(random: ProtonCrypto.SystemRandom()))
        return Invite(
            identity: ProtonCrypto.Ed25519.PrivateKey(), prekey: ProtonCrypto.X25519.PrivateKey().publicKey, route: route, expires: expires)
    }

    func expectNothingStored(_ sandbox: InviteSandbox, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let store = try sandbox.openStore(name)
        defer { try? store.close() }
        #expect(try store.protons().isEmpty, sourceLocation: sourceLocation)
        #expect(try store.outbox().isEmpty, sourceLocation: sourceLocation)
        #expect(try store.pendingInvites(includingUsed: true).isEmpty, sourceLocation: sourceLocation)
    }
}
