import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonDirectory
import ProtonHTTP
import ProtonStore

/// Attesting directories: pinning one by key, auditing its log, looking names up, registering
/// our own, and starting relationships through a brokered directory's key packages. Every
/// checkpoint any of these sees goes through `DirectoryAuditor` against the stored one; what a
/// step learnt (a newer checkpoint, fork evidence) is saved even when the step fails.
extension Profile {
    /// The trust state as stored now.
    public func directoryTrust() throws(ProfileError) -> DirectoryTrust {
        do throws(DirectoryError) { return try DirectoryTrust.load(from: store) } catch { throw .directory(error) }
    }

    /// Runs a step on the trust state and saves it. A step may wait on the network for long
    /// (the owner's monitor under `receive --watch`), and another process may save meanwhile
    /// (an `accept` keeping fork evidence): what that process added since this step loaded the
    /// state is merged in, never overwritten (`DirectoryTrust.merge`).
    func saving<T>(_ body: (inout DirectoryTrust) async throws(DirectoryError) -> T) async throws(ProfileError) -> T {
        let base = try directoryTrust()
        var state = base
        func save() throws(DirectoryError) {
            var merged = state
            if let current = try? DirectoryTrust.load(from: store) { merged.merge(theirs: current, base: base) }
            try merged.save(to: store)
        }
        do {
            let value = try await body(&state)
            try save()
            return value
        } catch {
            try? save()
            throw .directory(error)
        }
    }

    // MARK: - Pinning and auditing

    /// Pins the directory at `url` by its C2SP verifier key: it must report exactly that key
    /// for an origin that matches its namespace, and its current checkpoint becomes the first
    /// the audit remembers.
    /// With a witness `policy` (c2sp.org/tlog-policy), every checkpoint of this directory must
    /// carry the cosignatures its quorum asks for, the first one included.
    public func pinDirectory(url: String, verifierKey: String, policy: WitnessPolicy? = nil) async throws(ProfileError) -> DirectoryTrust.Pinned {
        let verifier: NoteVerifier
        do { verifier = try NoteVerifier(verifierKey: verifierKey) } catch { throw .directory(.invalidVerifierKey(reason: "\(error)")) }
        let normalized: String
        do { normalized = try ServicesConfiguration.normalize(url) } catch { throw .directory(.invalidURL(url)) }
        return try await saving { (state) throws(DirectoryError) in
            guard state.index(of: normalized) == nil else { throw .alreadyPinned(normalized) }
            let client = DirectoryLookup.client(for: normalized)
            let info: DirectoryAPI.Info
            do throws(DirectoryClient.Failure) { info = try await client.info() } catch { throw .client(error) }
            guard info.verifierKey == verifier.verifierKey, info.origin == verifier.name, info.origin == DirectoryNames.origin(namespace: info.namespace)
            else { throw .keyMismatch(url: normalized, reported: info.verifierKey) }
            guard state.directory(namespace: info.namespace) == nil else { throw .alreadyPinned("a directory for \(info.namespace)") }
            let now = Date()
            var pinned = DirectoryTrust.Pinned(
                url: normalized, namespace: info.namespace, verifierKey: verifier.verifierKey, added: now, checkpoint: nil,
                checkpointSeen: nil, evidence: [], policy: policy)
            let note: String
            do throws(DirectoryClient.Failure) { note = try await client.checkpoint() } catch { throw .client(error) }
            _ = try await DirectoryAuditor(client: client, now: now).accept(note, into: &pinned)
            state.directories.append(pinned)
            return pinned
        }
    }

    /// One pinned directory's audit: its log moved forward consistently (or stayed), or it
    /// misbehaved (`DirectoryError.forked`, with the evidence), or it could not be reached;
    /// and what became of the attestations stored for its namespace.
    public struct AuditResult: Sendable {
        public let pinned: DirectoryTrust.Pinned
        public let outcome: Result<DirectoryAuditor.Outcome, DirectoryError>
        public let attestations: Settlement
    }

    /// What checking the stored attestations' checkpoints against one directory's log found.
    public struct Settlement: Sendable {
        /// Attestations whose checkpoints are proven consistent with the log (all, not only
        /// those settled now).
        public var consistent = 0
        /// Attestations proven consistent by this step, which were pending before.
        public var settled: [String] = []
        /// Attestations still pending: the directory could not be asked.
        public var pending: [String] = []
        /// Attestations that were genuine once, but their name is now bound to another key or
        /// revoked: dropped, never verified.
        public var superseded: [String] = []
        /// Checkpoints that are not the log's: each with its evidence kept in the profile; the
        /// attestations in them are dropped (the evidence keeps them).
        public var forks: [DirectoryAuditor.Misbehaviour] = []
        /// Why the directory could not be asked, if it could not.
        public var unreachable: DirectoryError?
    }

    /// Audits every pinned directory: its current checkpoint must extend the stored one, and so
    /// must the checkpoint of every attestation stored for its namespace (those presented in
    /// invites and pairings included: `settleAttestations`).
    public func auditDirectories() async throws(ProfileError) -> [AuditResult] {
        try await saving { (state) throws(DirectoryError) in
            guard !state.directories.isEmpty else { throw .nonePinned }
            let now = Date()
            var results: [AuditResult] = []
            for index in state.directories.indices {
                var pinned = state.directories[index]
                let client = DirectoryLookup.client(for: pinned.url)
                let outcome: Result<DirectoryAuditor.Outcome, DirectoryError>
                do throws(DirectoryError) {
                    let note: String
                    do throws(DirectoryClient.Failure) { note = try await client.checkpoint() } catch { throw .client(error) }
                    outcome = .success(try await DirectoryAuditor(client: client, now: now).accept(note, into: &pinned))
                } catch {
                    outcome = .failure(error)
                }
                state.directories[index] = pinned
                var settlement = Settlement()
                switch outcome {
                case .success: settlement = await Self.settle(&state, at: index, client: client, now: now)
                case .failure(let error):
                    settlement.unreachable = error
                    settlement.pending = state.bundles.filter { $0.namespace == pinned.namespace && $0.settled != true }.map(\.qualifiedName)
                }
                results.append(AuditResult(pinned: state.directories[index], outcome: outcome, attestations: settlement))
            }
            return results
        }
    }

    /// Settles the pending attestations of `namespace` (every namespace when nil) with their
    /// directories: an online step. The directory's own checkpoint is taken first when none is
    /// stored, so that a presented checkpoint never becomes the baseline.
    public func settleAttestations(namespace: String? = nil) async throws(ProfileError) -> [String: Settlement] {
        try await saving { (state) throws(DirectoryError) in
            let now = Date()
            var results: [String: Settlement] = [:]
            for index in state.directories.indices {
                let pinned = state.directories[index]
                guard namespace == nil || pinned.namespace == namespace,
                    state.bundles.contains(where: { $0.namespace == pinned.namespace && $0.settled != true })
                        || !(pinned.gossiped ?? []).isEmpty
                else { continue }
                let client = DirectoryLookup.client(for: pinned.url)
                if pinned.checkpoint == nil {
                    var updated = pinned
                    do throws(DirectoryError) {
                        let note: String
                        do throws(DirectoryClient.Failure) { note = try await client.checkpoint() } catch { throw .client(error) }
                        _ = try await DirectoryAuditor(client: client, now: now).accept(note, into: &updated)
                        state.directories[index] = updated
                    } catch {
                        state.directories[index] = updated
                        var settlement = Settlement()
                        settlement.unreachable = error
                        settlement.pending = state.bundles.filter { $0.namespace == pinned.namespace && $0.settled != true }.map(\.qualifiedName)
                        results[pinned.namespace] = settlement
                        continue
                    }
                }
                results[pinned.namespace] = await Self.settle(&state, at: index, client: client, now: now)
            }
            return results
        }
    }

    /// Weighs the checkpoints of the bundles stored for the directory at `index` against its
    /// stored checkpoint, through `DirectoryAuditor`: each distinct tree (size and root) once,
    /// with the directory's consistency proof when the sizes differ. Settled bundles were
    /// proven already (consistency is transitive along the stored checkpoints), so they are
    /// only counted. A pending bundle whose checkpoint is consistent is then
    /// confirmed by a lookup of its name: an attestation that was genuine once but has since
    /// been replaced (a key change, a revocation) must not verify, so it is dropped unless the
    /// name is still bound to that key. A fork keeps the evidence and drops its bundles; an
    /// unreachable directory (or a refused proof, which proves nothing to anyone else) leaves
    /// them pending and ends the step.
    static func settle(_ state: inout DirectoryTrust, at index: Int, client: DirectoryClient, now: Date) async -> Settlement {
        var settlement = Settlement()
        let namespace = state.directories[index].namespace
        let auditor = DirectoryAuditor(client: client, now: now)
        struct Tree: Hashable {
            let size: UInt64
            let root: [UInt8]
        }
        var byTree: [Tree: (note: String, members: [Int])] = [:]
        var order: [Tree] = []
        for bundleIndex in state.bundles.indices where state.bundles[bundleIndex].namespace == namespace {
            if state.bundles[bundleIndex].settled == true {
                settlement.consistent += 1
                continue
            }
            guard let bundle = try? state.bundles[bundleIndex].decoded(), let note = try? SignedNote(parsing: bundle.checkpoint),
                let checkpoint = try? Checkpoint(text: note.text)
            else { continue }
            let tree = Tree(size: checkpoint.size, root: checkpoint.rootHash)
            if byTree[tree] == nil {
                order.append(tree)
                byTree[tree] = (bundle.checkpoint, [])
            }
            byTree[tree]?.members.append(bundleIndex)
        }
        var dropped = Set<Int>()
        var consistent: [Int] = []
        for (position, tree) in order.enumerated() {
            guard let (note, members) = byTree[tree] else { continue }
            var pinned = state.directories[index]
            do throws(DirectoryError) {
                _ = try await auditor.accept(note, into: &pinned, attestation: members.first.map { state.bundles[$0].bundle })
                state.directories[index] = pinned
                consistent += members
            } catch {
                state.directories[index] = pinned
                if case .forked(let misbehaviour) = error {
                    settlement.forks.append(misbehaviour)
                    dropped.formUnion(members)
                } else {
                    settlement.unreachable = error
                    let rest = order[position...].flatMap { byTree[$0]?.members ?? [] }
                    settlement.pending += rest.map { state.bundles[$0].qualifiedName }
                    break
                }
            }
        }
        // Still the name's binding? Each consistent pending bundle's name is looked up once.
        var confirmed = Set<Int>()
        if settlement.unreachable == nil {
            let pinned = state.directories[index]
            var looked: [String: Ed25519.PublicKey?] = [:]
            for member in consistent {
                let stored = state.bundles[member]
                if looked[stored.name] == nil {
                    do throws(DirectoryError) {
                        let result = try await DirectoryLookup.run(name: stored.name, pinned: pinned, state: &state, now: now)
                        looked[stored.name] = .some(result.bundle.attestation.identityKey)
                    } catch {
                        switch error {
                        case .revoked, .client(.refused(status: 404, _, _)): looked[stored.name] = .some(nil)
                        case .forked(let misbehaviour):
                            settlement.forks.append(misbehaviour)
                            looked[stored.name] = .some(nil)
                        default:
                            settlement.unreachable = error
                        }
                    }
                }
                guard settlement.unreachable == nil else { break }
                if let current = looked[stored.name], let key = current, Base64URL.encode(key.rawRepresentation) == stored.identityKey {
                    confirmed.insert(member)
                } else {
                    settlement.superseded.append(stored.qualifiedName)
                    dropped.insert(member)
                }
            }
        }
        // The lookups may have replaced or added bundles: mark by identity, not by position.
        let confirmedKeys = Set(confirmed.map { "\(state.bundles[$0].identityKey)|\(state.bundles[$0].name)" })
        let droppedKeys = Set(dropped.map { "\(state.bundles[$0].identityKey)|\(state.bundles[$0].name)" })
        for member in consistent where !confirmed.contains(member) && !dropped.contains(member) {
            settlement.pending.append(state.bundles[member].qualifiedName)
        }
        for bundleIndex in state.bundles.indices where state.bundles[bundleIndex].namespace == namespace {
            let key = "\(state.bundles[bundleIndex].identityKey)|\(state.bundles[bundleIndex].name)"
            if confirmedKeys.contains(key), state.bundles[bundleIndex].settled != true {
                state.bundles[bundleIndex].settled = true
            }
            if confirmedKeys.contains(key) { settlement.settled.append(state.bundles[bundleIndex].qualifiedName) }
        }
        settlement.consistent += confirmed.count
        state.bundles.removeAll { $0.namespace == namespace && droppedKeys.contains("\($0.identityKey)|\($0.name)") && $0.settled != true }
        await settleGossip(&state, at: index, client: client, now: now, into: &settlement)
        return settlement
    }

    /// Weighs the checkpoints contacts gossiped for the directory at `index` against its
    /// stored one, with the directory's consistency proofs, each on its own: a consistent one
    /// is dropped (and becomes the stored checkpoint when it is newer and meets the witness
    /// quorum), an inconsistent one leaves its evidence. A directory that cannot be reached
    /// leaves them all pending; one that answers "too many requests" for a proof leaves that
    /// one pending, and after `DirectoryTrust.maximumProofRefusals` such steps the refusal
    /// counts as a proof that fails.
    static func settleGossip(_ state: inout DirectoryTrust, at index: Int, client: DirectoryClient, now: Date, into settlement: inout Settlement) async {
        guard state.directories[index].checkpoint != nil else { return }
        for gossiped in state.directories[index].gossiped ?? [] {
            var pinned = state.directories[index]
            let refusals = gossiped.refusals ?? 0
            let auditor = DirectoryAuditor(client: client, now: now, refusalFails: refusals + 1 >= DirectoryTrust.maximumProofRefusals)
            do throws(DirectoryError) {
                _ = try await auditor.accept(gossiped.note, into: &pinned, gossipedBy: gossiped.relationship)
            } catch {
                switch error {
                case .forked(let misbehaviour):
                    settlement.forks.append(misbehaviour)
                case .client(.refused(status: 429, _, _)):
                    pinned.gossiped = pinned.gossiped?.map { $0 == gossiped ? DirectoryTrust.GossipedNote(
                        note: $0.note, relationship: $0.relationship, received: $0.received, refusals: refusals + 1) : $0 }
                    state.directories[index] = pinned
                    settlement.unreachable = settlement.unreachable ?? error
                    continue
                default:
                    state.directories[index] = pinned
                    settlement.unreachable = settlement.unreachable ?? error
                    return
                }
            }
            pinned.gossiped = pinned.gossiped?.filter { $0 != gossiped }
            state.directories[index] = pinned
        }
    }

    // MARK: - Names

    /// Looks `name` (`NAME` or `NAME@NS`) up at its pinned directory and verifies the answer;
    /// the bundle is stored, so the key verifies offline later.
    public func lookUp(_ name: String) async throws(ProfileError) -> (result: DirectoryLookup.Result, pinned: DirectoryTrust.Pinned) {
        try await saving { (state) throws(DirectoryError) in
            let (bare, pinned) = try state.resolve(name)
            return (try await DirectoryLookup.run(name: bare, pinned: pinned, state: &state, now: Date()), pinned)
        }
    }

    /// What registering a name did.
    public enum Registration: Sendable {
        /// The directory's operator approves names: it waits.
        case pending(DirectoryAPI.NameStatus, qualifiedName: String)
        /// Attested to the persona's key, verified, and remembered as ours.
        case attested(DirectoryAPI.NameStatus, DirectoryLookup.Result, qualifiedName: String)
    }

    /// Registers `name` for `persona` at its pinned directory, signed by the persona's key,
    /// then looks it up to verify the attestation.
    public func registerName(_ name: String, as persona: StoredPersona) async throws(ProfileError) -> Registration {
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        return try await saving { (state) throws(DirectoryError) in
            let (bare, pinned) = try state.resolve(name)
            let qualified = bare + "@" + pinned.namespace
            let now = Date()
            let status: DirectoryAPI.NameStatus
            do throws(DirectoryClient.Failure) { (_, status) = try await DirectoryLookup.client(for: pinned.url).register(name: bare, namespace: pinned.namespace, key: keys.identityKey, now: now) } catch {
                throw .client(error)
            }
            // Remembered as ours even while pending, so that the owner's monitor watches it.
            let registration = DirectoryTrust.Registered(
                name: bare, namespace: pinned.namespace, identityKey: Base64URL.encode(keys.identityKey.publicKey.rawRepresentation))
            if !(state.registered ?? []).contains(registration) { state.registered = (state.registered ?? []) + [registration] }
            if status.state == .pending { return .pending(status, qualifiedName: qualified) }
            let result = try await DirectoryLookup.run(name: bare, pinned: pinned, state: &state, now: now)
            guard result.bundle.attestation.identityKey == keys.identityKey.publicKey else {
                throw .misbehaved(directory: pinned.url, reason: "the directory attests another key for \(qualified)")
            }
            return .attested(status, result, qualifiedName: qualified)
        }
    }

    /// The attestation a persona presents (an invite, a pairing, a connection): the one named
    /// by `choice` (`NAME` or `NAME@NS`), which must be stored for the persona and verify now;
    /// without a choice, the one that verifies if there is exactly one.
    public func attestationToPresent(for persona: StoredPersona, choice: String?) throws(ProfileError) -> AttestationBundle? {
        let state = try directoryTrust()
        do throws(DirectoryError) {
            return try state.bundleToPresent(
                for: persona.identityKey, persona: persona.displayName, choice: try choice.map { (text) throws(DirectoryError) in try state.qualified(text) },
                now: Date())
        } catch { throw .directory(error) }
    }

    /// How long settling a presented attestation with its directory may take before the
    /// attestation is left pending for a later online step.
    public static let settlingDeadline: TimeInterval = 10

    /// Checks an attestation the holder of `peerKey` presented and stores it when it verifies.
    /// Unless its checkpoint is the stored one, it is pending: the directory is asked for the
    /// consistency proof now (within `settlingDeadline`), and if it cannot be reached the
    /// attestation stays pending until the next online step.
    public func checkPresentedAttestation(_ bytes: [UInt8]?, by peerKey: Ed25519.PublicKey) async -> PresentedAttestationCheck {
        let check = PresentedAttestationCheck.checkAndStore(bytes, by: peerKey, store: store)
        guard let pending = check.pendingName, let namespace = pending.split(separator: "@").last.map(String.init) else { return check }
        let settlement = try? await withDeadline(Self.settlingDeadline) { try await self.settleAttestations(namespace: namespace) }
        guard let result = settlement?[namespace] else { return check }
        // A fork the same step found in a contact's gossip is reported by that step, not here.
        if let fork = result.forks.first(where: { $0.evidence?.gossipedBy == nil }) {
            return PresentedAttestationCheck(
                presented: true, verifiedName: nil, reason: fork.summary, fork: fork.summary, directory: fork.directory)
        }
        if result.settled.contains(pending) { return PresentedAttestationCheck(presented: true, verifiedName: pending, reason: nil) }
        if result.superseded.contains(pending) {
            return PresentedAttestationCheck(
                presented: true, verifiedName: nil,
                reason: "the directory no longer binds \(pending) to this contact's key (it was changed or revoked since); the attestation presented is out of date")
        }
        return check
    }

    /// Which of our attestations a connection presents to the name's owner.
    public enum AttestationChoice: Sendable {
        /// By default the one from the name's own directory, which learns nothing new from it.
        case fromSameDirectory
        /// The newest verified one from any pinned directory; refused when there is none.
        case fromAnyDirectory
        case named(String)
        case none
    }

    /// A key package fetched for a name: vended (verified against the name's attested key), or
    /// waiting for the owner's approval.
    public enum FetchedKeyPackage: Sendable {
        case vended(KeyPackage, attested: AttestationBundle, qualifiedName: String)
        case pending(requestID: String?, qualifiedName: String)
    }

    /// Looks `name` up, then fetches its key package from the brokered directory (using up one
    /// of its one-time prekeys), presenting `attestation` for an owner whose rule asks for one.
    public func fetchKeyPackage(for name: String, as persona: StoredPersona, attestation: AttestationChoice) async throws(ProfileError)
        -> FetchedKeyPackage
    {
        let (lookup, pinned) = try await lookUp(name)
        return try await fetchKeyPackage(after: lookup, at: pinned, as: persona, attestation: attestation)
    }

    private func fetchKeyPackage(
        after lookup: DirectoryLookup.Result, at pinned: DirectoryTrust.Pinned, as persona: StoredPersona, attestation: AttestationChoice
    ) async throws(ProfileError) -> FetchedKeyPackage {
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        let state = try directoryTrust()
        let bare = lookup.bundle.attestation.name
        let qualified = bare + "@" + pinned.namespace
        let now = Date()
        let own: AttestationBundle?
        switch attestation {
        case .none: own = nil
        case .named(let choice): own = try attestationToPresent(for: persona, choice: choice)
        case .fromAnyDirectory:
            guard let newest = state.verifiedAttestations(of: keys.identityKey.publicKey, now: now).verified.last else {
                throw .directory(.noOwnAttestation(persona: persona.displayName))
            }
            own = newest.bundle
        case .fromSameDirectory:
            own = state.verifiedAttestations(of: keys.identityKey.publicKey, now: now).verified
                .last { $0.bundle.attestation.namespace == pinned.namespace }?.bundle
        }
        let fetched: BrokerAPI.FetchResult
        do { fetched = try await DirectoryLookup.client(for: pinned.url).fetchKeyPackage(name: bare, key: keys.identityKey, attestation: own, now: now) } catch {
            throw .directory(.client(error))
        }
        guard let encoded = fetched.keyPackage else { return .pending(requestID: fetched.requestID, qualifiedName: qualified) }
        do throws(DirectoryError) {
            let package = try VendedKeyPackage.verify(encoded, attestedKey: lookup.bundle.attestation.identityKey, name: qualified, url: pinned.url, now: now)
            return .vended(package, attested: lookup.bundle, qualifiedName: qualified)
        } catch { throw .directory(error) }
    }

    /// A relationship started through a brokered directory's key package.
    public struct Connected: Sendable {
        public let started: Started
        public let qualifiedName: String
        public let attested: AttestationBundle
        public let usedOneTimePrekey: Bool
        /// The package had ML-KEM keys: the start was hybrid (PQXDH).
        public let postQuantum: Bool
    }

    /// Starts a relationship with `name`'s owner through the key package their brokered
    /// directory vends: the name is looked up and verified first (the package must be signed
    /// by the attested key), then our first message goes to the package's first-contact
    /// address. Refused before the fetch (which uses up a one-time prekey) when the name is
    /// ours or the persona already has a relationship with its key.
    /// `requirePostQuantum`: a classical key package (no ML-KEM keys) is refused, after the
    /// fetch (the directory cannot tell beforehand) and before anything is sent or stored.
    public func connect(
        to name: String, as persona: StoredPersona, message: [UInt8] = [], attestation: AttestationChoice = .fromSameDirectory,
        requirePostQuantum: Bool = false
    ) async throws(ProfileError) -> Connected {
        guard !services.receiving.isEmpty else { throw .agent(.noReceivingService) }
        let keys = try ProfileError.classifying { try store.persona(persona.id) }
        let (lookup, pinned) = try await lookUp(name)
        let peerKey = lookup.bundle.attestation.identityKey
        let qualified = lookup.bundle.attestation.name + "@" + pinned.namespace
        try ProfileError.classifying {
            if try store.personas().contains(where: { $0.identityKey == peerKey }) { throw ProfileError.directory(.ownName(qualified)) }
            if let existing = try store.protons().first(where: { $0.personaID == persona.id && $0.peerIdentity == peerKey }) {
                throw ProfileError.directory(.alreadyConnected(name: qualified, persona: persona.displayName, relationshipID: existing.relationshipID))
            }
        }
        let package: KeyPackage
        switch try await fetchKeyPackage(after: lookup, at: pinned, as: persona, attestation: attestation) {
        case .pending(let requestID, _): throw .directory(.approvalPending(name: qualified, requestID: requestID ?? "?"))
        case .vended(let vended, _, _): package = vended
        }
        guard package.route != nil else {
            throw .directory(.misbehaved(directory: pinned.url, reason: "the key package of \(qualified) has no first-contact address to write to"))
        }
        // Before an address of ours is made or anything is stored.
        guard package.isHybrid || !requirePostQuantum else { throw .relationship(.classicalStartRefused) }
        let now = Date()
        let start = InitiatorStart(store: store, sender: try sendAgent(), issuer: try issuer())
        let started: Started
        await acquire(.outbox)
        defer { release(.outbox) }
        do {
            started = try await start.run(
                personaID: persona.id, body: message, now: now,
                initiate: { route in
                    let started = try Proton.initiate(
                        persona: keys, keyPackage: package, ourRoutes: [route], body: message, requireHybrid: requirePostQuantum, now: now,
                        random: SystemRandom())
                    return (started.proton, started.initialMessage)
                },
                failure: { error in
                    if case Proton.Error.classicalStartRefused = error { return ProfileError.relationship(.classicalStartRefused) }
                    if case StoreError.duplicateRelationship(let relationshipID) = error {
                        return ProfileError.directory(.alreadyConnected(name: qualified, persona: persona.displayName, relationshipID: relationshipID))
                    }
                    return ProfileError.directory(.misbehaved(directory: pinned.url, reason: "the key package of \(qualified) could not start a relationship: \(error)"))
                })
        } catch { throw ProfileError(error) }
        return Connected(
            started: started, qualifiedName: qualified, attested: lookup.bundle, usedOneTimePrekey: !package.oneTimePrekeys.isEmpty,
            postQuantum: package.isHybrid)
    }

    // MARK: - Our names at brokered directories

    /// A name registered from this profile, with what signs for it.
    public struct OwnedName: Sendable {
        public let name: String
        public let namespace: String
        public let persona: StoredPersona
        let pinned: DirectoryTrust.Pinned

        public var qualifiedName: String { name + "@" + namespace }
        var client: DirectoryClient { DirectoryLookup.client(for: pinned.url) }
    }

    /// `text` (NAME@NAMESPACE) or, when nil, the one name registered from this profile.
    public func ownedName(_ text: String?) throws(ProfileError) -> OwnedName {
        let state = try directoryTrust()
        let registered = state.registered ?? []
        let chosen: DirectoryTrust.Registered
        if let text {
            guard let match = registered.first(where: { $0.qualifiedName == text }) else { throw .directory(.notRegisteredHere(text)) }
            chosen = match
        } else {
            guard registered.count == 1 else { throw .directory(.registeredNames(count: registered.count)) }
            chosen = registered[0]
        }
        let pinned: DirectoryTrust.Pinned
        do throws(DirectoryError) { pinned = try state.requireDirectory(namespace: chosen.namespace) } catch { throw .directory(error) }
        guard let persona = try personas().first(where: { Base64URL.encode($0.identityKey.rawRepresentation) == chosen.identityKey }) else {
            throw .directory(.registrantGone(chosen.qualifiedName))
        }
        return OwnedName(name: chosen.name, namespace: chosen.namespace, persona: persona, pinned: pinned)
    }

    /// What publishing a key package did.
    public struct PublishedPackage: Sendable {
        public let name: String
        public let published: BrokerAPI.Published
        public let package: KeyPackage
        public let address: AddressID
    }

    /// Publishes a key package for one of our names at its brokered directory: a fresh
    /// first-contact address, a signed prekey and `prekeys` one-time prekeys, stored before
    /// they are published; a package the directory refuses is removed again and its address
    /// kept for later.
    public func publishKeyPackage(
        name: String?, prekeys: Int, expires: Date, rule: BrokerAPI.ContactRule, trustedDirectories: [String]
    ) async throws(ProfileError) -> PublishedPackage {
        let owned = try ownedName(name)
        guard !services.receiving.isEmpty else { throw .agent(.noReceivingService) }
        let key = try ProfileError.classifying { try store.persona(owned.persona.id).identityKey }
        let now = Date()
        let signedPrekey = X25519.PrivateKey()
        let oneTimePrekeys = (0..<prekeys).map { _ in X25519.PrivateKey() }
        // Hybrid (PQXDH): a last-resort ML-KEM key, and one with each one-time prekey.
        let kemPrekey = MLKEM.PrivateKey()
        let oneTimeKEMPrekeys = (0..<prekeys).map { _ in MLKEM.PrivateKey() }
        let issuer = try issuer()
        let route = try await ProfileError.classifying { try await issuer.createRoute(after: nil, now: now) }
        let package: KeyPackage
        let id: KeyPackageID
        do {
            package = try KeyPackage(
                identity: key, signedPrekey: signedPrekey.publicKey, kemPrekey: kemPrekey.publicKey,
                oneTimePrekeys: zip(oneTimePrekeys, oneTimeKEMPrekeys).map { ($0.publicKey, $1.publicKey) }, route: route.route,
                expires: expires)
            id = try store.transaction { tx in
                try tx.insertPublishedKeyPackage(
                    personaID: owned.persona.id, name: owned.qualifiedName, package: package, signedPrekey: signedPrekey,
                    oneTimePrekeys: oneTimePrekeys, kemPrekey: kemPrekey, oneTimeKEMPrekeys: oneTimeKEMPrekeys, route: route, now: now)
            }
        } catch {
            try? store.addSpareAddress(route, now: now)
            throw ProfileError(error)
        }
        do {
            let published = try await owned.client.publish(
                name: owned.name, package: package, rule: rule, trustedDirectories: trustedDirectories, key: key, now: now)
            return PublishedPackage(name: owned.qualifiedName, published: published, package: package, address: route.address)
        } catch {
            // Not published: nobody can have fetched it, so its keys go and its address is kept for later.
            if let route = try? store.removeKeyPackage(id) { try? store.addSpareAddress(route, now: now) }
            throw .directory(.client(error))
        }
    }

    /// The contact requests a brokered directory holds for one of our names.
    public func contactRequests(name: String?) async throws(ProfileError) -> (OwnedName, [BrokerAPI.ContactRequest]) {
        let owned = try ownedName(name)
        let key = try ProfileError.classifying { try store.persona(owned.persona.id).identityKey }
        do { return (owned, try await owned.client.contactRequests(name: owned.name, key: key)) } catch { throw .directory(.client(error)) }
    }

    /// Approves or denies a contact request for one of our names.
    public func decideContactRequest(_ requestID: String, name: String?, approve: Bool) async throws(ProfileError) -> OwnedName {
        let owned = try ownedName(name)
        let key = try ProfileError.classifying { try store.persona(owned.persona.id).identityKey }
        do { try await owned.client.decide(name: owned.name, requestID: requestID, approve: approve, key: key) } catch {
            throw .directory(.client(error))
        }
        return owned
    }

    // MARK: - Verifying contacts

    /// What verifying a contact's key found.
    public struct Verification: Sendable {
        public let verified: [DirectoryTrust.Verified]
        /// Attestations that verify but whose checkpoints are not yet proven consistent with
        /// the directory's log (offline, or the directory unreachable): never verified.
        public let pending: [DirectoryTrust.Verified]
        /// Why a name does not (or no longer) verify.
        public let failures: [String]
        /// Directories caught showing a checkpoint that is not their log's (`online` only): the
        /// evidence is kept in the profile.
        public let forks: [DirectoryAuditor.Misbehaviour]
    }

    /// Verifies a contact's identity key against the attestations stored for it (offline);
    /// with `name`, that name is looked up first; with `online`, every stored name is looked
    /// up again, and a name now attested to another key, or revoked, is dropped.
    public func verifyContact(_ contact: ProtonID, name: String?, online: Bool) async throws(ProfileError) -> Verification {
        let proton = try ProfileError.classifying { try store.proton(contact) }
        let peerKey = proton.peerIdentity
        let peerKeyText = Base64URL.encode(peerKey.rawRepresentation)
        let label = proton.peerDisplayName ?? proton.relationshipID
        let now = Date()
        let failures = try await saving { (state) throws(DirectoryError) -> [String] in
            var lookups = [(String, DirectoryTrust.Pinned)]()
            if let name { lookups.append(try state.resolve(name)) }
            if online {
                for stored in state.bundles where stored.identityKey == peerKeyText {
                    if let pinned = state.directory(namespace: stored.namespace), !lookups.contains(where: { $0.0 == stored.name && $0.1.url == pinned.url }) {
                        lookups.append((stored.name, pinned))
                    }
                }
            }
            var failures = [String]()
            for (bare, pinned) in lookups {
                do throws(DirectoryError) {
                    let result = try await DirectoryLookup.run(name: bare, pinned: pinned, state: &state, now: now)
                    if result.bundle.attestation.identityKey != peerKey {
                        // The name now belongs to another key: the stored bundle for this key is stale.
                        state.bundles.removeAll { $0.identityKey == peerKeyText && $0.name == bare && $0.namespace == pinned.namespace }
                        failures.append(
                            "\(bare)@\(pinned.namespace) is attested for another key (\(result.bundle.attestation.identityKey)), not \(label)'s \(peerKey)")
                    }
                } catch {
                    switch error {
                    case .revoked, .client(.refused(status: 404, _, _)): break
                    default: throw error
                    }
                    state.bundles.removeAll { $0.identityKey == peerKeyText && $0.name == bare && $0.namespace == pinned.namespace }
                    failures.append(error.description)
                }
            }
            return failures
        }
        var forks: [DirectoryAuditor.Misbehaviour] = []
        if online {
            for (_, settlement) in try await settleAttestations() { forks += settlement.forks }
        }
        let (verified, pending, offlineFailures) = try directoryTrust().verifiedAttestations(of: peerKey, now: now)
        return Verification(verified: verified, pending: pending, failures: failures + offlineFailures, forks: forks)
    }
}
