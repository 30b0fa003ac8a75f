import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

/// `proton directory add URL --key VKEY`.
struct DirectoryAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Pin an attesting directory by its key.",
        discussion: """
            The key is the directory's C2SP verifier key (NAME+KEYID+BASE64), which its operator \
            publishes out of band. The directory must report that same key, and its newest \
            checkpoint must verify under it; that checkpoint becomes the first one the audit \
            remembers. Exits 76 if the directory shows another key.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("The directory's base URL.", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("The directory's verifier key to pin.", valueName: "vkey"))
    var key: String

    func run() async throws {
        let store = try profile.openStore()
        let directory = store.directory
        try? store.close()
        let verifier: NoteVerifier
        do { verifier = try NoteVerifier(verifierKey: key) } catch {
            throw CommandFailure(status: .usage, message: "--key is not a C2SP verifier key (NAME+KEYID+BASE64): \(error).")
        }
        let normalized: String
        do { normalized = try ServicesConfiguration.normalize(url) } catch {
            throw CommandFailure(status: .usage, message: "\(url) is not an http(s) URL.")
        }
        var state = try DirectoryState.load(from: directory)
        guard state.index(of: normalized) == nil else {
            throw CommandFailure(status: .usage, message: "\(normalized) is pinned already; 'proton directory list' shows it.")
        }
        let client = DirectoryClient(baseURL: normalized, client: AgentHTTPClient.client(isolating: "directory|\(normalized)"))
        let now = Date()
        let pinned = try await CommandFailure.directory {
            let info = try await client.info()
            guard info.verifierKey == verifier.verifierKey, info.origin == verifier.name,
                info.origin == DirectoryNames.origin(namespace: info.namespace)
            else {
                throw CommandFailure(
                    status: .directoryMisbehaved,
                    message: "\(normalized) reports the key \(info.verifierKey), not the one you gave; nothing was pinned.")
            }
            guard state.directory(namespace: info.namespace) == nil else {
                throw CommandFailure(status: .usage, message: "A directory for \(info.namespace) is pinned already.")
            }
            var pinned = DirectoryState.Pinned(
                url: normalized, namespace: info.namespace, verifierKey: verifier.verifierKey, added: now, checkpoint: nil,
                checkpointSeen: nil, evidence: [])
            _ = try await DirectoryAuditor(client: client, now: now).accept(client.checkpoint(), into: &pinned)
            return pinned
        }
        state.directories.append(pinned)
        try state.save(to: directory)
        let size = (try? pinned.storedCheckpoint()?.size) ?? 0
        print("Pinned the directory for \(pinned.namespace) at \(normalized) (log of \(Output.entries(size))).")
    }
}
