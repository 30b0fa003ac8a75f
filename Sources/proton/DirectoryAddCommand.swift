import ArgumentParser
import Foundation
import ProtonClient
import ProtonDirectory

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

    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp("A witness's cosigner key (NAME+KEYID+BASE64 of type 0x04); repeatable.", valueName: "vkey"))
    var witnesses: [String] = []

    @Option(help: "How many of the witnesses must have cosigned each checkpoint (default: all of them).")
    var quorum: Int?

    @Option(help: ArgumentHelp("A c2sp.org/tlog-policy file naming the witnesses and the quorum.", valueName: "file"))
    var policy: String?

    func validate() throws {
        guard quorum == nil || !witnesses.isEmpty || policy != nil else { throw ValidationError("--quorum needs --witness or --policy.") }
        guard policy == nil || witnesses.isEmpty && quorum == nil else { throw ValidationError("--policy replaces --witness and --quorum.") }
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        var witnessPolicy: WitnessPolicy?
        do {
            if let policy {
                let text: String
                do { text = try String(contentsOfFile: policy, encoding: .utf8) } catch {
                    throw CommandFailure(status: .noInput, message: "Cannot read the policy file \(policy): \(error.localizedDescription).")
                }
                witnessPolicy = try WitnessPolicy(parsing: text)
            } else if !witnesses.isEmpty {
                witnessPolicy = try WitnessPolicy.threshold(quorum ?? witnesses.count, of: witnesses)
            }
        } catch let error as WitnessPolicy.Invalid {
            throw CommandFailure(status: .dataError, message: "The witness policy is not usable (\(error)).")
        }
        if let witnessPolicy, !witnessPolicy.logs.isEmpty, !witnessPolicy.logs.contains(key) {
            throw CommandFailure(status: .dataError, message: "The policy file does not list this directory's key among its logs.")
        }
        let pinned = try await opened.pinDirectory(url: url, verifierKey: key, policy: witnessPolicy)
        let size = (try? pinned.storedCheckpoint()?.size) ?? 0
        print("Pinned the directory for \(pinned.namespace) at \(pinned.url) (log of \(Output.entries(size))).")
    }
}
