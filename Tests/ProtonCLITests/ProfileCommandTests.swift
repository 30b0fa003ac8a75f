import Foundation
import Testing

struct ProfileCommandTests {
    @Test func initCreatesAPrivateProfileWithOnePersona() async throws {
        let sandbox = try CLISandbox()
        let created = try await sandbox.run("init", "--name", "Alex")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains(sandbox.profile.path))
        #expect(created.stderr.isEmpty)

        let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.profile.path)
        #expect(attributes[.posixPermissions] as? Int == 0o700)
        let listed = try await sandbox.run("persona", "list", "--json")
        #expect(listed.status == 0)
        let personas = try #require(try listed.json() as? [[String: Any]])
        #expect(personas.map { $0["displayName"] as? String } == ["Alex"])
    }

    @Test func initRefusesAnExistingProfile() async throws {
        let sandbox = try CLISandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let again = try await sandbox.run("init", "--name", "Someone else")
        #expect(again.status == 73)
        #expect(again.stderrLines.count == 1)
        #expect(again.stderr.contains("already exists"))
        let listed = try await #require(try sandbox.run("persona", "list", "--json").json() as? [[String: Any]])
        #expect(listed.map { $0["displayName"] as? String } == ["Alex"])
    }

    @Test func initRefusesAnUnusableName() async throws {
        let sandbox = try CLISandbox()
        let result = try await sandbox.run("init", "--name", "")
        #expect(result.status == 64)
        #expect(result.stderrLines.count == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.profile.appendingPathComponent("proton.sqlite").path))
    }

    @Test func personaAddThenListShowsBoth() async throws {
        let sandbox = try CLISandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let added = try await sandbox.run("persona", "add", "Alex at work")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("Alex at work"))

        let table = try await sandbox.run("persona", "list")
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("NAME"))
        #expect(lines[2].hasPrefix("Alex at work"))

        let json = try await #require(try sandbox.run("persona", "list", "--json").json() as? [[String: Any]])
        #expect(json.map { $0["displayName"] as? String } == ["Alex", "Alex at work"])
        for persona in json {
            #expect((persona["identityKey"] as? String)?.count == 43, "32 bytes in unpadded base64url")
            #expect(persona["identitySeed"] == nil)
        }
    }

    @Test func personaAddRefusesADuplicateName() async throws {
        let sandbox = try CLISandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let result = try await sandbox.run("persona", "add", "alex")
        #expect(result.status == 65)
        #expect(result.stderrLines.count == 1)
    }

    @Test func profileOptionOverridesProtonHome() async throws {
        let sandbox = try CLISandbox()
        let elsewhere = sandbox.root.appendingPathComponent("elsewhere")
        #expect(try await sandbox.run("init", "--name", "Alex", "--profile", elsewhere.path).status == 0)
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("proton.sqlite").path))
        #expect(!FileManager.default.fileExists(atPath: sandbox.profile.path))
        #expect(try await sandbox.run("persona", "list", "--profile", elsewhere.path).status == 0)
    }

    @Test func xdgDataHomeIsUsedWithoutProtonHome() async throws {
        let sandbox = try CLISandbox()
        let data = sandbox.root.appendingPathComponent("xdg-data")
        let result = try await sandbox.run("init", "--name", "Alex", environment: ["PROTON_HOME": nil, "XDG_DATA_HOME": data.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("proton/proton.sqlite").path))
    }

    @Test func homeLocalShareIsTheLastResort() async throws {
        let sandbox = try CLISandbox()
        let result = try await sandbox.run("init", "--name", "Alex", environment: ["PROTON_HOME": nil, "XDG_DATA_HOME": "relative/ignored"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: sandbox.home.appendingPathComponent(".local/share/proton/proton.sqlite").path))
    }

    @Test func aPassphraseProtectedProfileNeedsThePassphrase() async throws {
        let sandbox = try CLISandbox()
        let passphrase = ["PROTON_PASSPHRASE": "correct horse battery staple"]
        let created = try await sandbox.run("init", "--name", "Alex", environment: passphrase)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("PROTON_PASSPHRASE"))

        let without = try await sandbox.run("persona", "list")
        #expect(without.status == 77)
        #expect(without.stderrLines.count == 1)
        #expect(without.stderr.contains("PROTON_PASSPHRASE"))

        let wrong = try await sandbox.run("persona", "list", environment: ["PROTON_PASSPHRASE": "wrong"])
        #expect(wrong.status == 77)
        #expect(wrong.stderrLines.count == 1)

        let right = try await sandbox.run("persona", "list", "--json", environment: passphrase)
        #expect(right.status == 0)
        #expect((try right.json() as? [[String: Any]])?.count == 1)
    }
}
