import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

/// `proton directory ...`: pin attesting directories, register and look up names, audit their
/// logs; and, for a directory's operator, approve and allow names in its data directory.
struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Use attesting directories: pin, register, look up, audit; approve and allow as an operator.",
        discussion: """
            An attesting directory binds name@namespace to a persona's identity key, signs the \
            binding, and appends it to a public append-only log (RFC 9162 Merkle tree, C2SP \
            signed checkpoints). The client pins the directory's key, checks every attestation's \
            inclusion in a signed checkpoint, and checks that each new checkpoint extends the \
            last one it saw. What it keeps is in the profile's database.

            Exit status as for every command, and: 76 when a directory misbehaved (a forked or \
            rolled-back log, a checkpoint or attestation that does not verify under the pinned \
            key, a key other than the pinned one).
            """,
        subcommands: [
            DirectoryAddCommand.self, DirectoryListCommand.self, DirectoryRegisterCommand.self, DirectoryLookupCommand.self,
            DirectoryFetchCommand.self, DirectoryPublishCommand.self, DirectoryAuditCommand.self, DirectoryApproveCommand.self, DirectoryDenyCommand.self, DirectoryAllowCommand.self,
            DirectoryPendingCommand.self, DirectoryMonitorCommand.self,
        ])
}

extension CommandFailure {
    static func operatorCall<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as DirectoryRefusal {
            throw CommandFailure(status: .dataError, message: refusal.description.sentence)
        } catch let error as DataDirectoryError {
            throw CommandFailure(status: .noInput, message: error.description)
        }
    }
}
