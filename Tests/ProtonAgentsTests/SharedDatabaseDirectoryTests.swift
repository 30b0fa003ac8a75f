import Foundation
import ProtonCrypto
import ProtonServices
import ProtonTestSupport
import Testing

/// A directory as an operator runs it on PostgreSQL: two `proton serve directory --database URL`
/// processes on one database and one data directory (one key), the operator's command on the
/// same database, and clients pinned to either process.
@Suite struct SharedDatabaseDirectoryTests {
    @Test func twoDirectoryProcessesAndTheOperatorServeOneLog() async throws {
        let socketDirectory = try SharedDatabaseServices.clusterSocketDirectory()
        let database = "directory_\(UUID().uuidString.prefix(8).lowercased())"
        try SharedDatabaseServices.createDatabase(database, socketDirectory: socketDirectory)
        let url = "postgres://proton@/\(database)?host=\(socketDirectory)"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonSharedDirectory-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let arguments = ["serve", "directory", "--namespace", "example.org", "--policy", "approve", "--listen", "127.0.0.1:0", "--data", data.path]
        // The first creates the key and the schema; the second finds both.
        let (first, firstPort) = try SharedDatabaseServices.serve(arguments + ["--database", url])
        defer { first.terminate() }
        let (second, secondPort) = try SharedDatabaseServices.serve(arguments + ["--database", url])
        defer { second.terminate() }

        // A registration (made here as a third instance would make it) waits for the operator,
        // who approves it with the command line on the same database.
        let registry = try await DirectoryRegistry.open(dataDirectory: data, namespace: nil, database: PostgresLocation(url))
        defer { registry.close() }
        let alex = AgentCommandTests.Sandbox()
        let identity = Ed25519.PrivateKey().publicKey
        #expect(try await registry.register(name: "alex", identityKey: identity, policy: .approve, now: Date()) == .pending)
        let pending = try await alex.run("directory", "pending", "--data", data.path, "--database", url, "--json")
        #expect(pending.status == 0)
        #expect(pending.stdout.contains("\"alex\""))
        #expect(try await alex.run("directory", "approve", "alex", "--data", data.path, "--database", url).status == 0)

        // A client pinned to either process finds the statement, with its inclusion proof in
        // a checkpoint of the one log.
        for port in [firstPort, secondPort] {
            let client = AgentCommandTests.Sandbox()
            #expect(try await client.run("init", "--name", "Client").status == 0)
            let pinned = try await client.run("directory", "add", "http://127.0.0.1:\(port)", "--key", registry.verifier.verifierKey)
            #expect(pinned.status == 0, "\(pinned.stderr)")
            let lookup = try await client.run("directory", "lookup", "alex@example.org", "--json")
            #expect(lookup.status == 0, "\(lookup.stderr)")
            #expect(lookup.stdout.contains("\"logIndex\" : 0") || lookup.stdout.contains("\"logIndex\":0"), "\(lookup.stdout)")
        }

        // A witness keeps SQLite: --database is refused before anything starts.
        let witness = try await alex.run(
            "serve", "witness", "--name", "witness.example.org/w1", "--log", registry.verifier.verifierKey, "--listen", "127.0.0.1:0",
            "--data", data.appendingPathComponent("witness").path, "--database", url)
        #expect(witness.status == 64)
    }
}
