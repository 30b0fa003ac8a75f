import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonStore

/// What a profile trusts about attesting directories, stored whole in the profile's database
/// (`ProfileStore.Document.directoryTrust`; `directories.json` beside it before profile format
/// 3): the directories pinned by key, the last checkpoint
/// seen from each (the audit's memory), the evidence of any fork, the attestation bundles
/// fetched for contacts' identity keys (so that a contact verifies offline), and the names
/// registered from this profile.
public struct DirectoryTrust: Codable, Sendable {
    /// Bounds on what a hostile directory can make us store.
    public static let maximumBundles = 10_000
    public static let maximumEvidence = 16

    public struct Pinned: Codable, Sendable {
        public var url: String
        public var namespace: String
        /// The C2SP verifier key, `<origin>+<key id>+<base64 key>`.
        public var verifierKey: String
        public var added: Date
        /// The newest signed checkpoint verified and proven consistent with every earlier one.
        public var checkpoint: String?
        public var checkpointSeen: Date?
        public var evidence: [ForkEvidence]
        /// How far the owner's monitor has read this directory's log (`Profile.monitorNames`).
        public var monitor: MonitorState?

        /// The witness policy (c2sp.org/tlog-policy): which witnesses must have cosigned a
        /// checkpoint of this directory for it to be accepted. Absent: none.
        public var policy: WitnessPolicy?

        /// Checkpoints of this directory that contacts gossiped, signed by the pinned key but of
        /// another size than the stored one: the next online step asks the directory to prove
        /// them consistent with it (`Profile.settleAttestations`, the audit). One per
        /// relationship (its newest), at most `maximumPendingGossip` in all (the oldest go), so
        /// that one contact cannot push out what another gossiped.
        public var gossiped: [GossipedNote]?

        public init(
            url: String, namespace: String, verifierKey: String, added: Date, checkpoint: String?, checkpointSeen: Date?,
            evidence: [ForkEvidence], policy: WitnessPolicy? = nil
        ) {
            self.url = url
            self.namespace = namespace
            self.verifierKey = verifierKey
            self.added = added
            self.checkpoint = checkpoint
            self.checkpointSeen = checkpointSeen
            self.evidence = evidence
            self.policy = policy
        }

        /// Refuses a checkpoint note of this directory whose cosignatures do not satisfy the
        /// policy's quorum (each witness counts once; lines from other keys are ignored).
        public func requireQuorum(_ note: SignedNote, size: UInt64) throws(DirectoryError) {
            guard let policy else { return }
            if let witness = policy.invalidCosigners(of: note).first {
                throw .misbehaved(
                    directory: url, reason: "the checkpoint of size \(size) from \(url) carries a cosignature of the witness \(witness) that does not verify; it is refused")
            }
            let cosigners = policy.cosigners(of: note)
            guard policy.isSatisfied(byWitnessesNamed: cosigners) else {
                throw .missingQuorum(directory: url, size: size, have: cosigners.count, need: policy.description)
            }
        }

        public func verifier() throws(DirectoryError) -> NoteVerifier {
            do { return try NoteVerifier(verifierKey: verifierKey) } catch {
                throw .damaged(what: "the pinned key of \(url)", reason: "\(error)")
            }
        }

        public var origin: String { (try? verifier().name) ?? "" }

        /// `note` with only the lines that count here: the directory's own and the valid
        /// cosignatures of the policy's witnesses. Whoever passes a note on may add or drop other
        /// lines freely, so a gossiped note is kept and compared in this form.
        public func canonical(_ note: SignedNote) -> SignedNote {
            let own = try? verifier()
            let witnesses = (policy?.witnesses ?? []).compactMap { try? CosignatureVerifier(verifierKey: $0.key) }
            return SignedNote(
                text: note.text,
                signatures: note.signatures.filter { line in
                    (line.keyName == own?.name && line.keyID == own?.keyID)
                        || witnesses.contains { $0.timestamp(of: line, checkpointText: note.text) != nil }
                })
        }

        /// The stored checkpoint, which was verified when stored.
        public func storedCheckpoint() throws(DirectoryError) -> Checkpoint? {
            guard let checkpoint else { return nil }
            let verifier = try verifier()
            do { return try SignedCheckpoint(verifying: checkpoint, verifier: verifier).checkpoint } catch {
                throw .damaged(what: "the stored checkpoint of \(url)", reason: "it does not verify: \(error)")
            }
        }
    }

    /// The monitor's place in a log: every leaf before `size` was read, and their tree is
    /// `frontier` (base64url hashes of its perfect subtrees), which matched a signed root.
    public struct MonitorState: Codable, Sendable, Equatable {
        public var size: UInt64
        public var frontier: [String]
        public var scanned: Date
    }

    /// A checkpoint a contact gossiped, waiting for the directory's consistency proof.
    public struct GossipedNote: Codable, Sendable, Equatable {
        /// The signed note, canonical (`Pinned.canonical`).
        public var note: String
        /// The relationship that carried it (`Proton.relationshipID`).
        public var relationship: String
        public var received: Date
        /// Online steps at which the directory answered "too many requests" for its proof:
        /// after `maximumProofRefusals` the refusal is taken as a failed proof (a directory must
        /// not stall the one check that would expose it by refusing only that).
        public var refusals: Int?
    }

    public static let maximumPendingGossip = 64
    public static let maximumProofRefusals = 5

    /// Two signed checkpoints that cannot both be the directory's one log: proof to show others.
    public struct ForkEvidence: Codable, Sendable, Equatable {
        public var detected: Date
        public var reason: String
        public var stored: String
        public var new: String
        /// The consistency proof the directory gave between the two (base64url hashes), when one
        /// was asked for; absent when the sizes alone show the fork.
        public var proof: [String]?
        /// Where the new checkpoint came from, when not from the directory itself: the
        /// attestation bundle (base64url) presented in an invite or a pairing.
        public var attestation: String?
        /// The relationship (`Proton.relationshipID`) whose contact gossiped the new checkpoint,
        /// when it came that way.
        public var gossipedBy: String?

        /// Both checkpoints parse to trees of one size with different roots: whoever holds the
        /// directory's key can check the fork from these two notes alone.
        /// The same two trees (sizes and roots) as `other`, whatever other lines the notes carry.
        func sameTrees(as other: ForkEvidence) -> Bool {
            func tree(_ text: String) -> Checkpoint? { (try? SignedNote(parsing: text)).flatMap { try? Checkpoint(text: $0.text) } }
            guard let a = tree(stored), let b = tree(new), let c = tree(other.stored), let d = tree(other.new) else {
                return stored == other.stored && new == other.new
            }
            return a == c && b == d
        }

        public var provesItself: Bool {
            guard let first = try? SignedNote(parsing: stored), let second = try? SignedNote(parsing: new),
                let a = try? Checkpoint(text: first.text), let b = try? Checkpoint(text: second.text)
            else { return false }
            return a.size == b.size && a.rootHash != b.rootHash
        }
    }

    public struct StoredBundle: Codable, Sendable {
        /// The identity key the bundle attests, base64url.
        public var identityKey: String
        public var name: String
        public var namespace: String
        /// `AttestationBundle` wire format, base64url.
        public var bundle: String
        public var fetched: Date
        /// Whether the bundle's checkpoint was proven consistent with the log this profile
        /// follows for the directory (the stored checkpoint). A bundle from a lookup is, since
        /// the lookup checks its checkpoint first; one presented in an invite or a pairing is
        /// not until an online step asks the directory for the proof. Until then it is pending,
        /// never shown as verified. Absent in profiles of earlier versions: pending, unless its
        /// checkpoint is the stored one.
        public var settled: Bool?

        public var qualifiedName: String { name + "@" + namespace }

        public func decoded() throws(DirectoryError) -> AttestationBundle {
            guard let bytes = try? Base64URL.decode(bundle, limit: AttestationBundle.maximumByteCount) else {
                throw .damaged(what: "a stored attestation for \(qualifiedName)", reason: "it is not base64url")
            }
            do { return try AttestationBundle(decoding: bytes) } catch {
                throw .damaged(what: "a stored attestation for \(qualifiedName)", reason: "\(error)")
            }
        }
    }

    /// Names registered from this profile, for contact requests.
    public struct Registered: Codable, Sendable, Equatable {
        public var name: String
        public var namespace: String
        /// The persona's identity key, base64url.
        public var identityKey: String

        public var qualifiedName: String { name + "@" + namespace }
    }

    public var directories: [Pinned] = []
    public var bundles: [StoredBundle] = []
    public var registered: [Registered]? = []
    /// One `BundleVerifier` per pinned key while this value lives, so that listing many
    /// contacts verifies each directory checkpoint's signature once. Not stored.
    private let verifiers = Verifiers()

    enum CodingKeys: String, CodingKey {
        case directories, bundles, registered
    }

    private final class Verifiers: @unchecked Sendable {
        private let lock = NSLock()
        private var byKey: [String: BundleVerifier] = [:]

        func withVerifier<T>(_ key: String, make: () throws -> BundleVerifier, _ body: (inout BundleVerifier) throws -> T) throws -> T {
            lock.lock()
            defer { lock.unlock() }
            var verifier = try byKey[key] ?? make()
            defer { byKey[key] = verifier }
            return try body(&verifier)
        }
    }

    public init() {}

    // MARK: - File

    /// The trust state stored in `store` (an earlier version's directories.json is taken in
    /// first); an empty one when there is none yet.
    public static func load(from store: ProfileStore) throws(DirectoryError) -> DirectoryTrust {
        do { return try store.decodedDocument(DirectoryTrust.self, .directoryTrust) ?? DirectoryTrust() } catch {
            throw .damaged(what: "the directory trust state stored in the profile", reason: "\(error)")
        }
    }

    public func save(to store: ProfileStore) throws(DirectoryError) {
        do { try store.saveEncodedDocument(self, as: .directoryTrust) } catch { throw .cannotSave(reason: "\(error)") }
    }

    /// Takes in what another process saved (`theirs`) since this value was loaded as `base`:
    /// directories pinned meanwhile, fork evidence, newer checkpoints and monitor progress,
    /// bundles stored or settled, names registered. What this value changed stays.
    mutating func merge(theirs: DirectoryTrust, base: DirectoryTrust) {
        for other in theirs.directories {
            guard let index = index(of: other.url) else {
                if base.index(of: other.url) == nil { directories.append(other) }
                continue
            }
            for evidence in other.evidence where !directories[index].evidence.contains(evidence) {
                directories[index].evidence.append(evidence)
            }
            Self.trimEvidence(&directories[index].evidence)
            if let theirs = try? other.storedCheckpoint(), (try? directories[index].storedCheckpoint())?.map({ $0.size < theirs.size }) ?? true {
                directories[index].checkpoint = other.checkpoint
                directories[index].checkpointSeen = other.checkpointSeen
            }
            if let monitor = other.monitor, monitor.size > directories[index].monitor?.size ?? 0 { directories[index].monitor = monitor }
            // Gossip the other process weighed is gone from its list; what it added is taken in.
            let baseGossip = base.directories.first { $0.url == other.url }?.gossiped ?? []
            for note in other.gossiped ?? [] where !baseGossip.contains(note) {
                Self.addPending(note, to: &directories[index])
            }
        }
        func identity(_ stored: StoredBundle) -> String { stored.identityKey + "|" + stored.name + "|" + stored.namespace + "|" + stored.bundle }
        let baseBundles = Set(base.bundles.map(identity))
        var ours = Dictionary(bundles.enumerated().map { (identity($1), $0) }, uniquingKeysWith: { first, _ in first })
        for other in theirs.bundles {
            if let index = ours[identity(other)] {
                if other.settled == true { bundles[index].settled = true }
            } else if !baseBundles.contains(identity(other)) {
                // Stored by the other process; one this step dropped was in `base`.
                bundles.append(other)
                ours[identity(other)] = bundles.count - 1
            }
        }
        if bundles.count > Self.maximumBundles { bundles.removeFirst(bundles.count - Self.maximumBundles) }
        for name in theirs.registered ?? [] where !(registered ?? []).contains(name) { registered = (registered ?? []) + [name] }
    }

    // MARK: - Queries

    public func directory(namespace: String) -> Pinned? { directories.first { $0.namespace == namespace } }

    public func index(of url: String) -> Int? { directories.firstIndex { $0.url == url } }

    /// The pinned directory for `namespace`.
    public func requireDirectory(namespace: String) throws(DirectoryError) -> Pinned {
        guard let pinned = directory(namespace: namespace) else { throw .notPinned(namespace: namespace) }
        return pinned
    }

    /// Keeps the newest bundle per identity key and name. `settled`: its checkpoint was proven
    /// consistent with the stored one (a lookup's was; a presented one is not yet).
    public mutating func store(_ bundle: AttestationBundle, settled: Bool, now: Date) {
        let attestation = bundle.attestation
        let key = Base64URL.encode(attestation.identityKey.rawRepresentation)
        bundles.removeAll { $0.identityKey == key && $0.name == attestation.name && $0.namespace == attestation.namespace }
        bundles.append(
            StoredBundle(
                identityKey: key, name: attestation.name, namespace: attestation.namespace, bundle: Base64URL.encode(bundle.encoded()),
                fetched: now, settled: settled))
        if bundles.count > Self.maximumBundles { bundles.removeFirst(bundles.count - Self.maximumBundles) }
    }

    /// How a checkpoint signed by a pinned directory stands against the stored one, offline.
    public enum Standing: Sendable, Equatable {
        /// The stored tree itself.
        case same
        /// Another size: only the directory's consistency proof can tell (an online step).
        case needsProof
        /// No checkpoint stored yet: the directory's own must come first, never a presented one.
        case noBaseline
        /// The same size with another root: two trees that cannot both be the log.
        case fork
    }

    public static func standing(of checkpoint: Checkpoint, against pinned: Pinned) -> Standing {
        guard let stored = try? pinned.storedCheckpoint() else { return .noBaseline }
        guard checkpoint.size == stored.size else { return .needsProof }
        return checkpoint.rootHash == stored.rootHash && checkpoint.origin == stored.origin ? .same : .fork
    }

    /// A stored attestation of `identityKey` that verifies offline now, against its pinned
    /// directory: the validity window, and inclusion in a checkpoint signed by the directory's
    /// pinned key (`BundleVerifier`: each checkpoint's signature is verified once).
    public struct Verified: Sendable {
        public let stored: StoredBundle
        public let bundle: AttestationBundle
        public let checkpoint: Checkpoint
        public let pinned: Pinned
    }

    /// The stored attestations of `identityKey`: `verified` (signature, inclusion, validity and
    /// a checkpoint consistent with the log this profile follows), `pending` (all of that but
    /// the consistency, which needs the directory: shown as pending, never as verified), and
    /// why the others fail.
    public func verifiedAttestations(of identityKey: Ed25519.PublicKey, now: Date)
        -> (verified: [Verified], pending: [Verified], failures: [String])
    {
        let key = Base64URL.encode(identityKey.rawRepresentation)
        var verified = [Verified]()
        var pending = [Verified]()
        var failures = [String]()
        for stored in bundles where stored.identityKey == key {
            guard let pinned = directory(namespace: stored.namespace) else {
                failures.append("\(stored.qualifiedName): no directory is pinned for \(stored.namespace)")
                continue
            }
            do {
                let bundle = try stored.decoded()
                let checkpoint = try verifiers.withVerifier(pinned.verifierKey, make: { BundleVerifier(directory: try pinned.verifier()) }) {
                    try $0.verify(bundle, binding: identityKey, now: now)
                }
                guard bundle.attestation.name == stored.name, bundle.attestation.namespace == stored.namespace else {
                    failures.append("\(stored.qualifiedName): the attestation is about another name")
                    continue
                }
                if let note = try? SignedNote(parsing: bundle.checkpoint) { try pinned.requireQuorum(note, size: checkpoint.size) }
                let entry = Verified(stored: stored, bundle: bundle, checkpoint: checkpoint, pinned: pinned)
                // Settled: proven consistent, and for a presented one confirmed by a lookup.
                // Stored by an earlier version (nil): verified when in the tree held now, as it
                // was shown then; a presented one (false) waits for its online step.
                if stored.settled == true || (stored.settled == nil && Self.standing(of: checkpoint, against: pinned) == .same) {
                    verified.append(entry)
                } else {
                    pending.append(entry)
                }
            } catch {
                failures.append("\(stored.qualifiedName): \(error)")
            }
        }
        return (verified, pending, failures)
    }

    /// The attestation a persona presents in an invite or a pairing: `choice` (NAME@NS) when
    /// given, which must be stored for the persona's key and verify now; otherwise the one
    /// that verifies, if there is exactly one, else none.
    public func bundleToPresent(for identityKey: Ed25519.PublicKey, persona: String, choice: String?, now: Date) throws(DirectoryError)
        -> AttestationBundle?
    {
        let (verified, _, failures) = verifiedAttestations(of: identityKey, now: now)
        guard let choice else { return verified.count == 1 ? verified[0].bundle : nil }
        if let chosen = verified.first(where: { $0.stored.qualifiedName == choice }) { return chosen.bundle }
        if let failure = failures.first(where: { $0.hasPrefix(choice + ":") }) {
            throw .attestationDoesNotVerify(name: choice, persona: persona, reason: String(failure.dropFirst(choice.count + 1)).trimmingCharacters(in: .whitespaces))
        }
        throw .noAttestation(name: choice, persona: persona, alternatives: verified.map(\.stored.qualifiedName))
    }

    /// Checks an attestation bundle the holder of `peerKey` presented (in an invite or a
    /// pairing) against the directories pinned here: the pinned key's signature, inclusion,
    /// validity and binding. Its checkpoint is then weighed against the stored one: the same
    /// tree settles it at once; the same size with another root is a fork, kept as evidence
    /// (the bundle is not stored); anything else is stored as pending, for an online step to
    /// settle with the directory's consistency proof (`Profile.settleAttestations`).
    public mutating func checkPresented(_ bytes: [UInt8]?, by peerKey: Ed25519.PublicKey, now: Date) -> PresentedAttestationCheck {
        guard let bytes else { return PresentedAttestationCheck(presented: false, verifiedName: nil, reason: "no attestation was presented") }
        let bundle: AttestationBundle
        let checkpoint: Checkpoint
        do {
            (bundle, checkpoint) = try AttestationBundle.verifyPresented(bytes, by: peerKey, now: now) { namespace in
                try? directory(namespace: namespace)?.verifier()
            }
        } catch {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: error.description)
        }
        let name = bundle.attestation.qualifiedName
        guard let index = directories.firstIndex(where: { $0.namespace == bundle.attestation.namespace }) else {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: "no directory is pinned for \(bundle.attestation.namespace)")
        }
        do throws(DirectoryError) {
            // The bundle verified, so its checkpoint parses as a note.
            if let note = try? SignedNote(parsing: bundle.checkpoint) { try directories[index].requireQuorum(note, size: checkpoint.size) }
        } catch {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: error.description)
        }
        switch Self.standing(of: checkpoint, against: directories[index]) {
        case .fork:
            let summary = "FORK: the attestation presented for \(name) is in a tree of size \(checkpoint.size) with another root than the one you hold"
            let evidence = ForkEvidence(
                detected: now, reason: summary, stored: directories[index].checkpoint ?? "", new: bundle.checkpoint, proof: nil,
                attestation: Base64URL.encode(bundle.encoded()))
            keep(evidence, at: index)
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: summary, fork: summary, directory: directories[index].url)
        case .same, .needsProof, .noBaseline:
            // Even in the tree this profile holds, the statement may have been replaced since
            // (a key change, a revocation): it is settled by a lookup of the name, online.
            store(bundle, settled: false, now: now)
            return PresentedAttestationCheck(
                presented: true, verifiedName: nil,
                reason: "the attestation for \(name) verifies, but its checkpoint is not yet proven consistent with the directory's log",
                pendingName: name)
        }
    }

    /// What weighing a gossiped checkpoint found.
    public enum GossipOutcome: Sendable, Equatable {
        /// Not a checkpoint of a directory pinned here under its pinned key, or the tree this
        /// profile holds: nothing kept.
        case nothing
        /// Another size: kept for the next online step to prove consistent.
        case pending(directory: String)
        /// The same size with another root: the evidence is kept.
        case fork(directory: String, evidence: ForkEvidence)
    }

    /// Keeps `note` pending with `pinned`: one per relationship (its newest replaces it), at most
    /// `maximumPendingGossip` (the oldest go).
    static func addPending(_ note: GossipedNote, to pinned: inout Pinned) {
        var pending = (pinned.gossiped ?? []).filter { $0.relationship != note.relationship }
        pending.append(note)
        if pending.count > maximumPendingGossip { pending.removeFirst(pending.count - maximumPendingGossip) }
        pinned.gossiped = pending
    }

    /// Weighs a checkpoint the contact of `relationship` gossiped against the stored one of the
    /// directory whose origin it names, offline. Only a note signed by the pinned key counts (a
    /// contact cannot frame a directory); its cosignatures do not matter here, since two trees
    /// signed by the directory prove a fork whoever cosigned them. What is kept is the note's
    /// canonical form.
    public mutating func weighGossiped(_ bytes: [UInt8], relationship: String, now: Date) -> GossipOutcome {
        guard let text = String(validating: bytes, as: UTF8.self), let parsed = try? SignedNote(parsing: text),
            let claimed = try? Checkpoint(text: parsed.text),
            let index = directories.firstIndex(where: { $0.origin == claimed.origin }),
            let verifier = try? directories[index].verifier(),
            let checkpoint = try? SignedCheckpoint(verifying: text, verifier: verifier).checkpoint
        else { return .nothing }
        let note = directories[index].canonical(parsed).serialized
        let url = directories[index].url
        switch Self.standing(of: checkpoint, against: directories[index]) {
        case .same:
            return .nothing
        case .fork:
            let evidence = ForkEvidence(
                detected: now,
                reason: "FORK: a contact's checkpoint of size \(checkpoint.size) has another root than the one you hold",
                stored: directories[index].checkpoint ?? "", new: note, proof: nil, attestation: nil, gossipedBy: relationship)
            keep(evidence, at: index)
            return .fork(directory: url, evidence: evidence)
        case .needsProof, .noBaseline:
            Self.addPending(GossipedNote(note: note, relationship: relationship, received: now), to: &directories[index])
            return .pending(directory: url)
        }
    }

    /// What this profile gossips: the stored checkpoint of each pinned directory, to the
    /// contacts with a tie to it that each side knows of: an attestation of theirs from it is
    /// stored here (they registered there, and presented it or were looked up), or the
    /// relationship's persona has a name registered there. A contact's own gossip creates no
    /// tie: otherwise anyone could replay public checkpoints to learn which directories a
    /// profile pins.
    public func checkpointOffers() -> @Sendable (Proton) -> [Proton.CheckpointOffer] {
        var offers: [(offer: Proton.CheckpointOffer, peers: Set<String>, ours: Set<String>)] = []
        for pinned in directories {
            guard let note = pinned.checkpoint, let checkpoint = try? pinned.storedCheckpoint(),
                note.utf8.count <= ProtonUpdate.maximumCheckpointByteCount
            else { continue }
            let peers = Set(bundles.filter { $0.namespace == pinned.namespace }.map(\.identityKey))
            let ours = Set((registered ?? []).filter { $0.namespace == pinned.namespace }.map(\.identityKey))
            offers.append((Proton.CheckpointOffer(origin: checkpoint.origin, size: checkpoint.size, note: Array(note.utf8)), peers, ours))
        }
        let candidates = offers
        return { proton in
            let peer = Base64URL.encode(proton.peerIdentity.rawRepresentation)
            let ours = Base64URL.encode(proton.ourIdentity.rawRepresentation)
            return candidates.filter { $0.peers.contains(peer) || $0.ours.contains(ours) }.map(\.offer)
        }
    }

    /// Keeps `evidence` with the directory at `index` (`trimEvidence`).
    mutating func keep(_ evidence: ForkEvidence, at index: Int) {
        guard !directories[index].evidence.contains(where: { $0.sameTrees(as: evidence) }) else { return }
        directories[index].evidence.append(evidence)
        Self.trimEvidence(&directories[index].evidence)
    }

    /// At most `maximumEvidence` entries. Evidence that proves a fork to anyone on its own (two
    /// signed trees of one size, no proof needed) is the last to go: the oldest of the others
    /// is dropped first, so a directory cannot flush it out with failed proofs.
    static func trimEvidence(_ evidence: inout [ForkEvidence]) {
        while evidence.count > maximumEvidence {
            if let index = evidence.firstIndex(where: { !$0.provesItself }) { evidence.remove(at: index) } else { evidence.removeFirst() }
        }
    }

    /// The verified name for a contact's key.
    public func verifiedName(of identityKey: Ed25519.PublicKey, now: Date) -> String? {
        verifiedAttestations(of: identityKey, now: now).verified.last?.stored.qualifiedName
    }

    /// A contact's name as far as this profile can tell now: verified, or pending until an
    /// online step proves its checkpoint consistent.
    public func nameStatus(of identityKey: Ed25519.PublicKey, now: Date) -> (verified: String?, pending: String?) {
        let (verified, pending, _) = verifiedAttestations(of: identityKey, now: now)
        return (verified.last?.stored.qualifiedName, verified.isEmpty ? pending.last?.stored.qualifiedName : nil)
    }

    // MARK: - Names

    /// Parses `NAME` or `NAME@NS`; a bare name needs exactly one pinned directory.
    public func resolve(_ text: String) throws(DirectoryError) -> (name: String, pinned: Pinned) {
        if text.contains("@") {
            guard let (name, namespace) = DirectoryNames.split(text) else { throw .invalidQualifiedName(text) }
            return (name, try requireDirectory(namespace: namespace))
        }
        guard DirectoryNames.isValidName(text) else { throw .invalidName(text) }
        guard directories.count == 1 else { throw directories.isEmpty ? .nonePinned : .severalPinned }
        return (text, directories[0])
    }

    /// `NAME` or `NAME@NS` as `name@namespace`, under the same rules as `resolve`.
    public func qualified(_ text: String) throws(DirectoryError) -> String {
        let (name, pinned) = try resolve(text)
        return name + "@" + pinned.namespace
    }
}

/// What an invite or a pairing proved about the peer's name.
public struct PresentedAttestationCheck: Encodable, Sendable {
    /// Whether the peer presented an attestation at all.
    public let presented: Bool
    /// `name@namespace`, when the attestation verified.
    public let verifiedName: String?
    /// Why the contact stays unverified, otherwise.
    public let reason: String?
    /// `name@namespace`, when the attestation verifies but its checkpoint still waits for the
    /// directory's consistency proof.
    public let pendingName: String?
    /// The directory showed two trees: what was caught (the evidence is in the profile).
    public let fork: String?
    /// The directory that forked.
    public let directory: String?

    public init(
        presented: Bool, verifiedName: String?, reason: String?, pendingName: String? = nil, fork: String? = nil, directory: String? = nil
    ) {
        self.presented = presented
        self.verifiedName = verifiedName
        self.reason = reason
        self.pendingName = pendingName
        self.fork = fork
        self.directory = directory
    }

    /// Checks what the holder of `peerKey` presented against the profile's pinned directories
    /// and stores it when it verifies. The relationship is already stored: nothing here fails it.
    public static func checkAndStore(_ bytes: [UInt8]?, by peerKey: Ed25519.PublicKey, store: ProfileStore) -> PresentedAttestationCheck {
        guard bytes != nil else { return PresentedAttestationCheck(presented: false, verifiedName: nil, reason: nil) }
        do throws(DirectoryError) {
            var state = try DirectoryTrust.load(from: store)
            let check = state.checkPresented(bytes, by: peerKey, now: Date())
            if check.verifiedName != nil || check.pendingName != nil || check.fork != nil { try state.save(to: store) }
            return check
        } catch {
            return PresentedAttestationCheck(presented: true, verifiedName: nil, reason: error.description)
        }
    }

    /// One line for a person.
    public var sentence: String {
        if let verifiedName { return "Verified: the directory for \(verifiedName.split(separator: "@").last ?? "") attests this contact's key as \(verifiedName)." }
        if let fork { return "Unverified: \(fork). The directory shows different logs to different people; the evidence is kept ('proton directory list')." }
        if let pendingName {
            return "Pending: the attestation for \(pendingName) verifies, but its checkpoint is not yet proven consistent with the directory's log; "
                + "it is checked at the next online step ('proton directory audit')."
        }
        return "Unverified: \(reason ?? "no attestation was presented")."
    }
}
