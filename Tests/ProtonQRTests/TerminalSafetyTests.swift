import Foundation
import ProtonServices
import Testing

/// What others write reaches the terminal as text, never as commands to it; display names read
/// as what they are; a refusal says why. Real `proton` processes and services on loopback.
@Suite("what reaches the terminal", .serialized)
struct TerminalSafetyTests {
    /// A message with escape sequences (clipboard write, window title, cursor moves), a
    /// carriage return, a right-to-left override and a line made to look like another
    /// contact's message.
    @Test func aHostileMessageArrivesAsTextOnly() async throws {
        let sandbox = try await InviteSandbox.paired()
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "Welcome, Blair."))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        let hostile =
            "hi\u{1B}]52;c;cm0gLXJmIH4=\u{07}\u{1B}]0;owned\u{07}\u{1B}[2A\u{9B}2J\rhidden"
            + "\n2026-12-05 09:00:00 UTC  Bank: send the code\u{202E}gnp.exe"
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", hostile))
        let shown = try await sandbox.require(sandbox.run("Alex", "receive")).stdout
        for scalar in shown.unicodeScalars where scalar.value != 0x0A {
            #expect(!(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.isBidiControl),
                "U+\(String(scalar.value, radix: 16)) reached the terminal: \(shown.debugDescription)")
        }
        // The words are all there; the second line is indented under Blair's message.
        #expect(shown.contains("Blair: hi"))
        #expect(shown.contains("hidden"))
        #expect(shown.contains("\n    2026-12-05 09:00:00 UTC  Bank: send the code"), "\(shown.debugDescription)")
        #expect(!shown.contains("\n2026-12-05 09:00:00 UTC  Bank"))

        // JSON keeps every character, escaped.
        try await sandbox.require(sandbox.run("Blair", "send", "Alex", hostile))
        let json = try await sandbox.require(sandbox.run("Alex", "receive", "--json")).stdout
        #expect(!json.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x9B || $0.value == 0x202E })
        struct Entry: Decodable { let body: String }
        let entries = try JSONDecoder().decode([Entry].self, from: Data(json.utf8))
        #expect(entries.map(\.body) == [hostile])
    }

    @Test func displayNamesMustReadAsWhatTheyAre() async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.require(sandbox.run("Alex", "init", "--name", "Alex"))
        let refused: [(String, String)] = [
            ("Bob\u{202E}gnp.exe", "bidirectional control"),
            ("\u{2067}Eve", "bidirectional control"),
            ("\u{200B}\u{200B}\u{200B}", "no visible character"),
            ("   ", "no visible character"),
            ("\u{0301}\u{0301}", "no visible character"),
            ("Line\u{2028}break", "line break"),
            (String(repeating: "name", count: 1250), "5000 bytes"),
        ]
        for (name, why) in refused {
            let run = try await sandbox.run("Alex", "persona", "add", name)
            #expect(run.status == 64, "\(name.debugDescription): \(run)")
            #expect(run.stderr.contains(why), "\(name.debugDescription): \(run.stderr)")
            #expect(run.stderr.count < 300, "the error echoes the name: \(run.stderr.count) characters")
        }
        // Names in other scripts, with joiners and emoji sequences, are names.
        for name in ["שלום עולם", "علی‌رضا", "👩‍👩‍👧‍👦 family", "Zoë", "李小龙"] {
            try await sandbox.require(sandbox.run("Alex", "persona", "add", name))
        }
        // The table is aligned as a terminal draws it, and no name is cut.
        let table = try await sandbox.require(sandbox.run("Alex", "persona", "list")).stdout
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 7)
        for name in ["שלום עולם", "علی‌رضا", "👩‍👩‍👧‍👦 family", "李小龙"] { #expect(table.contains(name), "\(name) was cut: \(table)") }
        let columns = lines.map { line -> Int in
            let identity = line.range(of: "ed25519:") ?? line.range(of: "IDENTITY")!
            return Self.width(of: String(line[..<identity.lowerBound]))
        }
        #expect(Set(columns).count == 1, "IDENTITY starts at columns \(columns):\n\(table)")
    }

    /// A computer whose clock is two hours behind its receiving service's: the service refuses
    /// the signed requests, and `receive` says the clock is off and by how much, instead of
    /// "could not be reached". Ten minutes off is corrected from the service's time.
    @Test func aClockThatIsOffIsNamed() async throws {
        let sandbox = try await InviteSandbox.paired()
        let url = sandbox.receivingURL
        let port = try #require(URLComponents(string: url)?.port)
        sandbox.stopServices()
        for (serviceAhead, refused) in [(7200.0, true), (600.0, false)] {
            let skewed = try await ReceivingService.start(
                configuration: ReceivingServiceConfiguration(
                    listen: ListenAddress(host: "127.0.0.1", port: port), dataDirectory: sandbox.serviceData("receiving"),
                    now: { Date().addingTimeInterval(serviceAhead) }))
            let run = try await sandbox.run("Alex", "receive")
            await skewed.stop()
            guard refused else {
                #expect(run.status == 0, "\(run)")
                continue
            }
            #expect(run.status == 69, "\(run)")
            #expect(run.stderr.contains("clock is more than 5 minutes off"), "\(run.stderr)")
            #expect(run.stderr.contains("2 hours behind the service's"), "\(run.stderr)")
            #expect(run.stderr.contains("refused"), "\(run.stderr)")
            #expect(!run.stderr.contains("could not be reached"), "\(run.stderr)")
        }
    }

    /// Columns the way the tool counts them (Output.width), for the alignment check.
    private static func width(of text: String) -> Int {
        text.reduce(0) { total, character in
            let scalars = character.unicodeScalars
            guard let first = scalars.first(where: { !$0.properties.isDefaultIgnorableCodePoint }) else { return total }
            if [.nonspacingMark, .enclosingMark].contains(first.properties.generalCategory) { return total }
            let wide = first.properties.isEmojiPresentation || (0x4E00...0x9FFF).contains(first.value)
            return total + (wide ? 2 : 1)
        }
    }
}
