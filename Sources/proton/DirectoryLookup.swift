import ArgumentParser
import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonServices

/// Parses `NAME` or `NAME@NS`; a bare name needs exactly one pinned directory.
enum QualifiedName {
    static func resolve(_ text: String, in state: DirectoryState) throws -> (name: String, pinned: DirectoryState.Pinned) {
        if text.contains("@") {
            guard let (name, namespace) = DirectoryNames.split(text) else {
                throw CommandFailure(status: .usage, message: "\"\(text)\" is not NAME@NAMESPACE with a valid name and a lowercase domain.")
            }
            return (name, try state.requireDirectory(namespace: namespace))
        }
        guard DirectoryNames.isValidName(text) else {
            throw CommandFailure(status: .usage, message: "\"\(text)\" is not a valid name (1 to 64 characters of a-z, 0-9, '.', '_' or '-').")
        }
        guard state.directories.count == 1 else {
            throw CommandFailure(
                status: .usage,
                message: state.directories.isEmpty
                    ? "No directory is pinned; pin one with 'proton directory add URL --key KEY'."
                    : "Several directories are pinned; write the name as NAME@NAMESPACE.")
        }
        return (text, state.directories[0])
    }
}

/// Fetches and checks what a directory says about a name, and stores the bundle.
enum DirectoryLookup {
    struct Result {
        let bundle: AttestationBundle
        let checkpoint: Checkpoint
    }

    /// `run`, then writes `state` to the profile whatever the outcome: what the lookup learnt
    /// (a newer checkpoint, fork evidence) is kept even when the lookup fails.
    static func runSaving(name: String, pinned: DirectoryState.Pinned, state: inout DirectoryState, now: Date, profile: URL) async throws -> Result {
        let result: Result
        do { result = try await run(name: name, pinned: pinned, state: &state, now: now) } catch {
            try? state.save(to: profile)
            throw error
        }
        try state.save(to: profile)
        return result
    }

    /// Looks `name` up at `pinned`; verifies the bundle against the pinned key, its name and
    /// namespace, and its checkpoint against the audit's stored one. Updates `state`.
    static func run(name: String, pinned: DirectoryState.Pinned, state: inout DirectoryState, now: Date) async throws -> Result {
        let client = DirectoryClient(baseURL: pinned.url, client: AgentHTTPClient.client(isolating: "directory|\(pinned.url)"))
        let status = try await CommandFailure.directory { try await client.lookup(name) }
        guard status.state == .attested, let encoded = status.bundle else {
            throw CommandFailure(status: .noUser, message: "\(name)@\(pinned.namespace) was revoked; no key is attested for it now.")
        }
        guard let bytes = try? Base64URL.decode(encoded, limit: AttestationBundle.maximumByteCount),
            let bundle = try? AttestationBundle(decoding: bytes)
        else { throw CommandFailure(status: .directoryMisbehaved, message: "\(pinned.url) answered with an attestation bundle that does not parse.") }
        let checkpoint: Checkpoint
        do { checkpoint = try bundle.verify(directory: try pinned.verifier(), now: now) } catch {
            throw CommandFailure(status: .directoryMisbehaved, message: "The attestation for \(name)@\(pinned.namespace) does not verify: \(error).")
        }
        guard bundle.attestation.name == name, bundle.attestation.namespace == pinned.namespace else {
            throw CommandFailure(
                status: .directoryMisbehaved, message: "\(pinned.url) answered for \(bundle.attestation.qualifiedName) when asked for \(name)@\(pinned.namespace).")
        }
        guard let index = state.index(of: pinned.url) else { throw CommandFailure(status: .software, message: "The directory is not pinned.") }
        var updated = state.directories[index]
        do {
            _ = try await CommandFailure.directory {
                try await DirectoryAuditor(client: client, now: now).accept(bundle.checkpoint, into: &updated)
            }
        } catch {
            state.directories[index] = updated
            throw error
        }
        state.directories[index] = updated
        state.store(bundle, now: now)
        return Result(bundle: bundle, checkpoint: checkpoint)
    }
}
