import ArgumentParser
import Foundation

/// The `proton` command. Its `main` runs the chosen subcommand and turns every error into one
/// sentence on stderr and a sysexits code.
@main
struct ProtonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proton",
        abstract: "End-to-end encrypted relationships whose identity is separate from their delivery addresses.",
        discussion: """
            A profile holds your personas (identities you show to different people) and, for \
            every relationship, a proton: the ratchet state, the peer's identity key and routes, \
            and the addresses you gave that peer alone.

            Where the profile lives, in order of preference: --profile DIR, $PROTON_HOME, \
            $XDG_DATA_HOME/proton, ~/.local/share/proton. If $PROTON_PASSPHRASE is set when the \
            profile is created, its secrets are sealed with a key derived from that passphrase, \
            and every later command needs it too.

            Exit status (sysexits): 0 success, 64 the command was used wrongly, 65 the data is \
            bad (damaged profile, invalid name), 66 no profile, 67 no such contact, 69 a service \
            or device is unavailable, 70 internal error, 73 cannot create (the profile exists), \
            74 I/O error, 75 temporary failure (try again), 76 refused by the protocol (an invite expired or already \
            used), 77 passphrase missing or wrong.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, PersonaCommand.self, ContactsCommand.self, ShowCommand.self, ExportStateCommand.self,
            ServicesCommand.self, SendCommand.self, ReceiveCommand.self, BlockCommand.self, RotateCommand.self,
            DemoCommand.self, ServeCommand.self, InviteCommand.self, AcceptCommand.self, PairCommand.self,
            DirectoryCommand.self, ConnectCommand.self, VerifyCommand.self, RequestsCommand.self,
        ])

    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            fail(parsing: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CommandFailure {
            error.exit()
        } catch {
            // A help request arrives here as an error of ArgumentParser's, and so do usage
            // errors found after parsing; both are told apart by ArgumentParser's exit code.
            switch exitCode(for: error) {
            case .success, .validationFailure: fail(parsing: error)
            default: CommandFailure(error).exit()
            }
        }
    }

    /// Help and version requests print as ArgumentParser renders them; a usage error becomes
    /// one line pointing at `--help`.
    private static func fail(parsing error: any Error) -> Never {
        let code = exitCode(for: error)
        guard code != .success else { exit(withError: error) }
        let message = message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
        CommandFailure(
            status: ExitStatus(rawValue: code.rawValue) ?? .usage,
            message: message.sentence + " See 'proton help' for usage."
        ).exit()
    }
}
