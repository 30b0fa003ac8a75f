import ArgumentParser
import Foundation
import ProtonAgents
import ProtonClient
import ProtonCrypto
import ProtonStore

/// `--profile DIR`, shared by every command that touches a profile, and where the profile is
/// when it is not given.
struct ProfileOptions: ParsableArguments {
    @Option(
        name: .customLong("profile"),
        help: ArgumentHelp(
            "The profile directory to use.",
            discussion: "Default: $PROTON_HOME, else $XDG_DATA_HOME/proton, else ~/.local/share/proton.",
            valueName: "dir"))
    var path: String?

    @Option(
        name: .customLong("proxy"),
        help: ArgumentHelp(
            "Send every request to services through this proxy: socks5://HOST:PORT (Tor's SocksPort) or http://HOST:PORT (CONNECT).",
            discussion: """
                Default: $PROTON_PROXY. Names are resolved by the proxy. Each address is fetched, and each \
                message sent, with proxy credentials of its own, so Tor gives each its own circuit and \
                the services cannot link them by the connection.
                """,
            valueName: "uri"))
    var proxy: String?

    /// Puts the agents behind --proxy or $PROTON_PROXY, if either is given, before the command runs.
    func validate() throws {
        if let proxy, proxy.isEmpty {
            throw ValidationError("--proxy is empty; leave it out to connect directly.")
        }
        let text = proxy ?? ProcessInfo.processInfo.environment["PROTON_PROXY"]
        guard let text, !text.isEmpty else { return }
        do { try AgentHTTPClient.useProxy(AgentProxy(parsing: text)) } catch { throw ValidationError(error.description.sentence) }
    }

    /// --profile, else $PROTON_HOME, else $XDG_DATA_HOME/proton (when absolute, as the XDG
    /// specification asks), else ~/.local/share/proton.
    func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path, !path.isEmpty { return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL }
        if let home = environment["PROTON_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true).standardizedFileURL
        }
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("proton", isDirectory: true)
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".local/share/proton", isDirectory: true)
    }

    /// $PROTON_PASSPHRASE, if set and not empty.
    static func passphrase(environment: [String: String] = ProcessInfo.processInfo.environment) -> SecureBytes? {
        guard let text = environment["PROTON_PASSPHRASE"], !text.isEmpty else { return nil }
        var bytes = Array(text.utf8)
        return SecureBytes(consuming: &bytes)
    }

    /// The profile, opened through the library.
    func open() throws -> Profile {
        try Profile.open(at: directory(), passphrase: Self.passphrase())
    }

    /// For commands that only read: a profile that cannot be written (a backup mounted
    /// read-only) is still read.
    func openForReading() throws -> Profile {
        try Profile.openForReading(at: directory(), passphrase: Self.passphrase())
    }

    func openStore() throws -> ProfileStore {
        try ProfileStore.open(at: directory(), passphrase: Self.passphrase())
    }

    /// For commands that only read: a profile that cannot be written (a backup mounted
    /// read-only) is still read.
    func openStoreForReading() throws -> ProfileStore {
        try ProfileStore.openForReading(at: directory(), passphrase: Self.passphrase())
    }
}

/// Which persona a command acts as: `--persona` by name or id prefix, else the first.
enum PersonaChoice {
    static func choose(_ query: String?, in store: ProfileStore) throws -> StoredPersona {
        try Profile.choosePersona(query, among: try store.personas())
    }
}
