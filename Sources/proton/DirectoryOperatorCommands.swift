import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

/// `--data DIR` for the operator's commands, which act on a directory service's data directory.
struct DirectoryDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The directory service's data directory.", valueName: "dir"))
    var data: String

    @Option(
        help: ArgumentHelp(
            "The PostgreSQL database the directory service keeps its data in, if it does (default: $PROTON_DATABASE).",
            valueName: "url"))
    var database: String?

    func validate() throws {
        if let url = databaseURL, PostgresLocation(url) == nil {
            throw ValidationError("--database must be a postgres:// URL with a user and a database name (docs/deployment.md).")
        }
    }

    private var databaseURL: String? {
        database ?? ProcessInfo.processInfo.environment["PROTON_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func open() async throws -> DirectoryRegistry {
        do {
            return try await CommandFailure.operatorCall {
                try await DirectoryRegistry.open(
                    dataDirectory: URL(fileURLWithPath: data, isDirectory: true), namespace: nil, database: databaseURL.flatMap(PostgresLocation.init))
            }
        } catch let error as PostgresDatabaseError {
            throw CommandFailure(status: .unavailable, message: error.description)
        }
    }
}

struct DirectoryApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Operator: approve a pending registration (the 'approve' policy); the attestation is logged.",
        discussion: "Works while the service runs: changes to the data directory are serialised by a file lock.")

    @OptionGroup var data: DirectoryDataOptions

    @Argument(help: "The pending name.")
    var name: String

    func run() async throws {
        let registry = try await data.open()
        defer { registry.close() }
        let binding = try await CommandFailure.operatorCall { try await registry.approve(name: name, now: Date()) }
        print("Approved \(name)@\(registry.namespace) for \(binding.identityKey): logged at index \(binding.logIndex).")
    }
}

struct DirectoryDenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deny", abstract: "Operator: refuse a pending registration; nothing is logged.")

    @OptionGroup var data: DirectoryDataOptions

    @Argument(help: "The pending name.")
    var name: String

    func run() async throws {
        let registry = try await data.open()
        defer { registry.close() }
        try await CommandFailure.operatorCall { try await registry.deny(name: name) }
        print("Refused the pending registration of \(name)@\(registry.namespace).")
    }
}

struct DirectoryAllowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allow",
        abstract: "Operator: put a name on the allowlist (the 'allowlist' policy).",
        discussion: "With --key only that identity key may register the name; without it, the first key to prove possession.")

    @OptionGroup var data: DirectoryDataOptions

    @Argument(help: "The name to allow.")
    var name: String

    @Option(help: ArgumentHelp("Only this identity key (base64url, 32 bytes).", valueName: "key"))
    var key: String?

    func run() async throws {
        let registry = try await data.open()
        defer { registry.close() }
        var identityKey: Ed25519.PublicKey?
        if let key {
            guard let bytes = try? Base64URL.decode(key, limit: 32), let parsed = try? Ed25519.PublicKey(rawRepresentation: bytes) else {
                throw CommandFailure(status: .usage, message: "--key must be a 32-byte Ed25519 key in base64url.")
            }
            identityKey = parsed
        }
        try await CommandFailure.operatorCall { try await registry.allow(name: name, identityKey: identityKey, now: Date()) }
        print("Allowed \(name)@\(registry.namespace)\(key.map { " for the key \($0)" } ?? " for the first key to register it").")
    }
}

struct DirectoryPendingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pending", abstract: "Operator: list pending registrations.")

    @OptionGroup var data: DirectoryDataOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        let name: String
        let identityKey: String
        let requested: Date
    }

    func run() async throws {
        let registry = try await data.open()
        defer { registry.close() }
        let entries = try await registry.pending().map {
            Entry(name: $0.name, identityKey: Base64URL.encode($0.identityKey.rawRepresentation), requested: $0.requested)
        }
        if json { return try Output.json(entries) }
        guard !entries.isEmpty else { return print("No pending registrations.") }
        Output.table(["NAME", "IDENTITY KEY", "REQUESTED"], entries.map { [$0.name, $0.identityKey, Output.date($0.requested)] })
    }
}
