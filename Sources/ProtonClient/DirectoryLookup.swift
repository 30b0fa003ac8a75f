import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// Fetches and checks what a directory says about a name, and stores the bundle.
public enum DirectoryLookup {
    public struct Result: Sendable {
        public let bundle: AttestationBundle
        public let checkpoint: Checkpoint
    }

    /// The client for one pinned directory, isolated through the proxy when one is in use.
    public static func client(for url: String) -> DirectoryClient {
        DirectoryClient(baseURL: url, client: AgentHTTPClient.client(isolating: "directory|\(url)"))
    }

    /// Looks `name` up at `pinned`; verifies the bundle against the pinned key, its name and
    /// namespace, and its checkpoint against the audit's stored one. Updates `state`.
    public static func run(name: String, pinned: DirectoryTrust.Pinned, state: inout DirectoryTrust, now: Date) async throws(DirectoryError)
        -> Result
    {
        let client = client(for: pinned.url)
        let status: DirectoryAPI.NameStatus
        do { status = try await client.lookup(name) } catch { throw .client(error) }
        let qualified = "\(name)@\(pinned.namespace)"
        guard status.state == .attested, let encoded = status.bundle else { throw .revoked(qualified) }
        guard let bytes = try? Base64URL.decode(encoded, limit: AttestationBundle.maximumByteCount),
            let bundle = try? AttestationBundle(decoding: bytes)
        else { throw .misbehaved(directory: pinned.url, reason: "\(pinned.url) answered with an attestation bundle that does not parse") }
        let checkpoint: Checkpoint
        let verifier = try pinned.verifier()
        do { checkpoint = try bundle.verify(directory: verifier, now: now) } catch {
            throw .misbehaved(directory: pinned.url, reason: "the attestation for \(qualified) does not verify: \(error)")
        }
        guard bundle.attestation.name == name, bundle.attestation.namespace == pinned.namespace else {
            throw .misbehaved(directory: pinned.url, reason: "\(pinned.url) answered for \(bundle.attestation.qualifiedName) when asked for \(qualified)")
        }
        guard let index = state.index(of: pinned.url) else { throw .notPinned(namespace: pinned.namespace) }
        var updated = state.directories[index]
        do {
            _ = try await DirectoryAuditor(client: client, now: now).accept(bundle.checkpoint, into: &updated)
        } catch {
            state.directories[index] = updated
            throw error
        }
        state.directories[index] = updated
        // Its checkpoint was reconciled with the stored one just above.
        state.store(bundle, settled: true, now: now)
        return Result(bundle: bundle, checkpoint: checkpoint)
    }
}

/// The checks every key package a broker vends must pass before it is used or shown: it
/// decodes and its signature verifies, it is signed by exactly the key the name's verified
/// attestation binds (a broker cannot hand out a key its own log does not show), it holds at
/// most one one-time prekey, and it has not expired.
public enum VendedKeyPackage {
    public static func verify(_ encoded: String, attestedKey: Ed25519.PublicKey, name: String, url: String, now: Date) throws(DirectoryError)
        -> KeyPackage
    {
        let package: KeyPackage
        do { package = try KeyPackage(decoding: try Base64URL.decode(encoded, limit: KeyPackage.maximumByteCount * 2)) } catch {
            throw .misbehaved(directory: url, reason: "\(url) vended a key package for \(name) that does not verify: \(error)")
        }
        guard package.identityKey == attestedKey else {
            throw .misbehaved(
                directory: url,
                reason: "\(url) vended a key package for \(package.identityKey), but its log attests \(attestedKey) for \(name); nothing was stored")
        }
        guard package.expires > now, package.oneTimePrekeys.count <= 1 else {
            throw .misbehaved(directory: url, reason: "\(url) vended an expired key package or more than one one-time prekey")
        }
        return package
    }
}
