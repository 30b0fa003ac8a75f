import ArgumentParser
import Foundation
import ProtonClient

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
        let opened = try profile.open()
        defer { opened.close() }
        let pinned = try await opened.pinDirectory(url: url, verifierKey: key)
        let size = (try? pinned.storedCheckpoint()?.size) ?? 0
        print("Pinned the directory for \(pinned.namespace) at \(pinned.url) (log of \(Output.entries(size))).")
    }
}
