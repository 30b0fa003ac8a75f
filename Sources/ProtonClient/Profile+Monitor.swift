import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// Owners watching their own names (as Signal's key transparency and WhatsApp's AKD let their
/// users do): the log entries a directory added since the last scan are read one by one, all
/// of them checked against the directory's signed root (a Merkle frontier, so no leaf can be
/// swapped or hidden), and any statement about a name this profile registered that binds a
/// key none of its personas holds is reported with its inclusion proof.
extension Profile {
    /// A statement in a directory's log about one of our names, for a key that is not ours.
    public struct MonitorFinding: Sendable, Encodable {
        public let directory: String
        public let name: String
        public let kind: String
        public let identityKey: String
        public let logIndex: UInt64
        /// The statement as logged (`Attestation` wire format), base64url.
        public let entry: String
        /// Its inclusion proof in the checkpoint below (base64url hashes).
        public let proof: [String]
        public let checkpoint: String
    }

    /// One directory's scan.
    public struct MonitorScan: Sendable {
        public let pinned: DirectoryTrust.Pinned
        public let names: [String]
        public let from: UInt64
        public let to: UInt64
        public let findings: [MonitorFinding]
    }

    /// The most log entries one scan reads from one directory; the next scan goes on from there.
    public static let maximumLeavesPerScan: UInt64 = 100_000

    /// Scans every pinned directory under which this profile registered a name, from where the
    /// last scan stopped to its current checkpoint (audited first, as every checkpoint is).
    /// A directory whose leaves do not make its signed root is `DirectoryError.misbehaved`.
    public func monitorNames() async throws(ProfileError) -> [MonitorScan] {
        let ours = Set(try personas().map { Base64URL.encode($0.identityKey.rawRepresentation) })
        return try await saving { (state) throws(DirectoryError) -> [MonitorScan] in
            var scans: [MonitorScan] = []
            for index in state.directories.indices {
                let namespace = state.directories[index].namespace
                let names = Set((state.registered ?? []).filter { $0.namespace == namespace }.map(\.name))
                guard !names.isEmpty else { continue }
                var pinned = state.directories[index]
                let client = DirectoryLookup.client(for: pinned.url)
                let now = Date()
                let note: String
                do throws(DirectoryClient.Failure) { note = try await client.checkpoint() } catch { throw .client(error) }
                do throws(DirectoryError) { _ = try await DirectoryAuditor(client: client, now: now).accept(note, into: &pinned) } catch {
                    state.directories[index] = pinned
                    throw error
                }
                state.directories[index] = pinned
                guard let signed = pinned.checkpoint, let checkpoint = try pinned.storedCheckpoint() else { continue }
                var frontier = MerkleFrontier()
                if let stored = pinned.monitor {
                    guard let restored = MerkleFrontier(size: stored.size, hashes: stored.frontier.compactMap { try? Base64URL.decode($0, limit: 32) }) else {
                        throw .damaged(what: "the monitor's place in \(pinned.url)'s log", reason: "its frontier does not match its size")
                    }
                    frontier = restored
                }
                let from = frontier.size
                guard from <= checkpoint.size else {
                    throw .misbehaved(directory: pinned.url, reason: "\(pinned.url)'s log is smaller than the \(from) entries the monitor read")
                }
                var suspects: [(UInt64, Attestation, [UInt8])] = []
                // A bounded run: a log that grew by more is read over several runs.
                let end = min(checkpoint.size, from + Self.maximumLeavesPerScan)
                while frontier.size < end {
                    let leafIndex = frontier.size
                    let leaf: [UInt8]
                    do throws(DirectoryClient.Failure) { leaf = try await client.leaf(at: leafIndex) } catch { throw .client(error) }
                    frontier.append(leaf: leaf)
                    guard let statement = try? Attestation(decoding: leaf), statement.namespace == namespace, names.contains(statement.name) else {
                        continue
                    }
                    if !ours.contains(Base64URL.encode(statement.identityKey.rawRepresentation)) { suspects.append((leafIndex, statement, leaf)) }
                }
                let prefixHolds: Bool
                if end == checkpoint.size {
                    prefixHolds = frontier.root == checkpoint.rootHash
                } else {
                    // Stopped short: the leaves read must be the prefix of the signed tree.
                    let proof: [[UInt8]]
                    do throws(DirectoryClient.Failure) { proof = try await client.consistencyProof(from: end, to: checkpoint.size) } catch {
                        throw .client(error)
                    }
                    prefixHolds =
                        (try? ConsistencyProof(firstSize: end, secondSize: checkpoint.size, hashes: proof)
                            .verify(firstRoot: frontier.root, secondRoot: checkpoint.rootHash)) != nil
                }
                guard prefixHolds else {
                    throw .misbehaved(
                        directory: pinned.url,
                        reason: "\(pinned.url) served leaves \(from)..<\(end) that are not the ones under the root it signed: it hid or changed entries")
                }
                var findings: [MonitorFinding] = []
                for (leafIndex, statement, leaf) in suspects {
                    let proof: [[UInt8]]
                    do throws(DirectoryClient.Failure) { proof = try await client.inclusionProof(index: leafIndex, size: checkpoint.size) } catch {
                        throw .client(error)
                    }
                    findings.append(
                        MonitorFinding(
                            directory: pinned.url, name: statement.qualifiedName, kind: "\(statement.kind)",
                            identityKey: Base64URL.encode(statement.identityKey.rawRepresentation), logIndex: leafIndex, entry: Base64URL.encode(leaf),
                            proof: proof.map(Base64URL.encode), checkpoint: signed))
                }
                pinned.monitor = DirectoryTrust.MonitorState(size: frontier.size, frontier: frontier.hashes.map(Base64URL.encode), scanned: now)
                state.directories[index] = pinned
                scans.append(MonitorScan(pinned: pinned, names: names.sorted().map { "\($0)@\(namespace)" }, from: from, to: frontier.size, findings: findings))
            }
            return scans
        }
    }
}
