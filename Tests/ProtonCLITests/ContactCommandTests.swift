import Foundation
import ProtonCore
import Testing

struct ContactCommandTests {
    private func pairedSandbox() throws -> (CLISandbox, PairedFixture) {
        let sandbox = try CLISandbox()
        let fixture = try PairedFixture(
            blairDirectory: sandbox.profile, alexDirectory: sandbox.root.appendingPathComponent("alex"))
        return (sandbox, fixture)
    }

    @Test func contactsWithoutRelationshipsIsAnEmptyJSONArray() async throws {
        let sandbox = try CLISandbox()
        #expect(try await sandbox.run("init", "--name", "Alex").status == 0)
        let result = try await sandbox.run("contacts", "--json")
        #expect(result.status == 0)
        #expect((try result.json() as? [Any])?.isEmpty == true)
        #expect(try await sandbox.run("contacts").stdout.contains("No contacts"))
    }

    @Test func contactsJSONDescribesEachRelationship() async throws {
        let (sandbox, fixture) = try pairedSandbox()
        let result = try await sandbox.run("contacts", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let contacts = try #require(try result.json() as? [[String: Any]])
        #expect(contacts.count == 1)
        let contact = contacts[0]
        #expect(contact["name"] as? String == "Alex")
        #expect(contact["persona"] as? String == "Blair")
        #expect(contact["relationshipID"] as? String == fixture.blairProton.relationshipID)
        #expect(contact["safetyNumberPrefix"] as? String == String(fixture.blairProton.safetyNumber.description.prefix(11)))
        #expect(contact["blocked"] as? Bool == false)
        let routes = try #require(contact["routes"] as? [String: Int])
        #expect(routes["theirs"] == 1)
        #expect(routes["ours"] == 2, "the invite's route and the fresh one both accept messages")
        let rotation = try #require(contact["rotation"] as? [String: Any])
        #expect(rotation["messagesSinceRotation"] as? Int == 3)
        #expect(rotation["messagesPerAddress"] as? Int == 50)

        let table = try await sandbox.run("contacts")
        #expect(table.status == 0)
        #expect(table.stdout.contains(fixture.blairProton.relationshipID))
    }

    @Test func showPrintsTheSafetyNumberRoutesAndRotation() async throws {
        let (sandbox, fixture) = try pairedSandbox()
        let proton = fixture.blairProton
        let byName = try await sandbox.run("show", "alex")
        #expect(byName.status == 0, "\(byName.stderr)")
        let groups = proton.safetyNumber.description.split(separator: " ")
        #expect(byName.stdout.contains(groups[0..<4].joined(separator: " ")))
        #expect(byName.stdout.contains(groups[8..<12].joined(separator: " ")))
        #expect(byName.stdout.contains(proton.peerIdentity.description))
        for route in proton.ownRoutes + [] { #expect(byName.stdout.contains(route.address.hex)) }
        #expect(byName.stdout.contains(proton.peerRoutes[0].route.address.hex))
        #expect(byName.stdout.contains("Rotation"))
        #expect(byName.stdout.contains("pending updates"))

        let byPrefix = try await sandbox.run("show", String(proton.relationshipID.prefix(6)), "--json")
        #expect(byPrefix.status == 0)
        let detail = try #require(try byPrefix.json() as? [String: Any])
        #expect(detail["safetyNumber"] as? String == proton.safetyNumber.description)
        #expect((detail["ourRoutes"] as? [Any])?.count == proton.ownRoutes.count)
        #expect((detail["theirRoutes"] as? [Any])?.count == 1)
    }

    @Test func exportStateHoldsNoSecretWithoutTheFlag() async throws {
        let (sandbox, fixture) = try pairedSandbox()
        let result = try await sandbox.run("export-state", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let export = try #require(try result.json() as? [String: Any])
        #expect(export["includesSecrets"] as? Bool == false)
        let keys = allKeys(export)
        for secret in ["identitySeed", "protonState", "skippedKeys"] { #expect(!keys.contains(secret), "\(secret)") }
        #expect(!result.stdout.contains(fixture.blairPersona.identityKey.seedBytes.unsafeExportedBytes().base64URL))
        let protons = try #require(export["protons"] as? [[String: Any]])
        #expect(protons.first?["skippedKeyCount"] as? Int == 1)
        #expect(protons.first?["relationshipID"] as? String == fixture.blairProton.relationshipID)
    }

    @Test func exportStateIncludesSecretsWithTheFlag() async throws {
        let (sandbox, fixture) = try pairedSandbox()
        let result = try await sandbox.run("export-state", "--json", "--include-secrets")
        #expect(result.status == 0, "\(result.stderr)")
        let export = try #require(try result.json() as? [String: Any])
        #expect(export["includesSecrets"] as? Bool == true)
        let persona = try #require((export["personas"] as? [[String: Any]])?.first)
        #expect(persona["identitySeed"] as? String == fixture.blairPersona.identityKey.seedBytes.unsafeExportedBytes().base64URL)
        let proton = try #require((export["protons"] as? [[String: Any]])?.first)
        let state = try #require(proton["protonState"] as? String)
        #expect(!state.isEmpty)
        #expect((proton["skippedKeys"] as? [Any])?.count == 1)
    }
}
