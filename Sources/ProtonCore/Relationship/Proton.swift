import Foundation
import ProtonCrypto

/// The state one side keeps for one relationship: the ratchet, the peer's identity and routes,
/// our routes for this peer, and the updates in flight between the two.
///
/// Pure: every transition takes the time and randomness it needs, and a call that throws
/// leaves the value exactly as it was.
public struct Proton: Sendable {
    public enum Role: UInt8, Sendable {
        case initiator = 1
        case responder = 2
    }

    public enum Error: Swift.Error, Equatable, Sendable {
        /// The message came to an address this relationship never issued.
        case unknownAddress(AddressID)
        /// The message came to an address this relationship has retired.
        case retiredAddress(AddressID)
        /// This relationship is blocked: nothing is sent or accepted.
        case blocked
        /// The ratchet refused the message.
        case ratchet(RatchetError)
        /// The decrypted payload was malformed.
        case malformedPayload(WireError)
        /// The body is larger than one message can carry.
        case bodyTooLarge(limit: Int)
        /// The invite or key package has expired.
        case expired
        /// The key agreement failed (a low-order key).
        case keyAgreementFailed
        /// The initial message names prekeys other than the ones given.
        case prekeyMismatch
        /// A start without the post-quantum (ML-KEM) part where it is required: a classical key
        /// package when hybrid starts are required, or a classical initial message to a hybrid
        /// key package (the KEM part stripped).
        case classicalStartRefused
        /// Too many routes were given at once.
        case tooManyRoutes(limit: Int)
        /// Too many of our updates wait for the peer's acknowledgement to add another.
        case tooManyPendingUpdates(limit: Int)
    }

    public static let maximumPeerRoutes = 8
    /// Our routes kept for this peer after the agents' retirement round, retired ones included
    /// (they are dropped first).
    public static let maximumOwnRoutes = 24
    /// The most our routes ever number, between rounds too: past it the oldest routes whose
    /// grace ended early are dropped without waiting for their retirement at the service (the
    /// address then lingers there unread). Only rotations that outrun the agents' rounds by
    /// this much reach it; the stored state's count byte could not hold more than 255.
    public static let hardOwnRouteLimit = 48
    /// Our routes that still accept messages (offered, active, retiring). Past it the oldest
    /// retiring ones end their grace period early, so that rotating faster than the grace
    /// period cannot pile up addresses without bound.
    public static let maximumLiveOwnRoutes = 12
    static let maximumPendingUpdates = 16
    /// The retiring date of a route whose grace period `boundOwnRoutes` ended early.
    static let graceEndedEarly = Date(timeIntervalSince1970: 0)

    public let role: Role
    public let ourIdentity: Ed25519.PublicKey
    public let peerIdentity: Ed25519.PublicKey
    public internal(set) var peerDisplayName: String?
    public var policy: RotationPolicy
    var ratchet: DoubleRatchet
    /// Newest first: the order in which to try them.
    public internal(set) var peerRoutes: [PeerRoute]
    public internal(set) var ownRoutes: [OwnRoute]
    /// Our updates that the peer has not acknowledged yet; every message repeats them.
    public internal(set) var pendingUpdates: [ProtonUpdate]
    public internal(set) var nextUpdateSequence: UInt64
    /// The highest sequence number of the peer's updates applied here: our acknowledgement.
    public internal(set) var peerUpdatesApplied: UInt64
    public internal(set) var messagesSinceRotation: Int
    public internal(set) var lastRotation: Date
    public internal(set) var isBlocked: Bool
    public internal(set) var messagesSent: UInt64
    public internal(set) var messagesReceived: UInt64
    /// The highest message sequence the peer has sent that we opened (payload `sequence`).
    public internal(set) var highestPeerSequence: UInt64 = 0
    /// The peer's messages up to this sequence were presented in order (`Proton+Order`); nil
    /// for a state stored before sequences existed, whose next message sets it.
    public internal(set) var presentedPeerSequence: UInt64? = 0
    /// When the peer was last seen sending from an old copy of its state
    /// (`RatchetError.staleSenderState`); nil if never.
    public internal(set) var peerStaleStateSeenAt: Date?
    /// When the peer last told us that we sent from an old copy of our state; nil if never.
    public internal(set) var ourStaleStateReportedAt: Date?
    /// Whether our next message tells the peer that it sent from an old copy of its state.
    var staleNoticePending = false
    /// Since when there are signs that this is an old copy of our state: messages at this
    /// relationship's own addresses that no header key of ours opens (or whose body does not
    /// authenticate), or an address of ours in use that the service says was retired; nil
    /// while there are none, and cleared by the next message that can be read. Only the peer
    /// and the receiving service can put a message at such an address, so this is the peer's
    /// device having moved on past this copy (this profile was restored from a backup or a
    /// snapshot after both sides ratcheted, or after the address rotated: nothing the peer
    /// sends can be read here any more, and a notice inside a message cannot say so), the peer
    /// sending from a much older copy of its own state, or the receiving service altering
    /// messages or addresses.
    public internal(set) var unreadableSince: Date?
    /// How many messages could not be read since `unreadableSince`.
    public internal(set) var unreadableCount: UInt32 = 0
    /// Checkpoint gossip: the size of the newest checkpoint of each directory log (by origin)
    /// given to this peer, so that each is given at most once (`offerCheckpoint`). Least
    /// recently given first; at most `maximumGossipedLogs` (a log pushed out of the list may be
    /// given its current checkpoint again).
    public internal(set) var checkpointsSent: [(origin: String, size: UInt64)] = []
    public static let maximumGossipedLogs = 16
    public var establishedAt: Date { establishedAtStorage }
    var establishedAtStorage: Date

    init(
        role: Role, ourIdentity: Ed25519.PublicKey, peerIdentity: Ed25519.PublicKey, policy: RotationPolicy,
        ratchet: DoubleRatchet, now: Date
    ) {
        self.role = role
        self.ourIdentity = ourIdentity
        self.peerIdentity = peerIdentity
        self.policy = policy
        self.ratchet = ratchet
        self.peerRoutes = []
        self.ownRoutes = []
        self.pendingUpdates = []
        self.nextUpdateSequence = 1
        self.peerUpdatesApplied = 0
        self.messagesSinceRotation = 0
        self.lastRotation = now
        self.isBlocked = false
        self.messagesSent = 0
        self.messagesReceived = 0
        self.establishedAtStorage = now
    }

    // MARK: - What the agents read

    /// The peer's routes to try, in order.
    public var sendingRoutes: [Route] { peerRoutes.map(\.route) }

    /// Our addresses at which a message may still arrive now.
    public func receivingAddresses(now: Date) -> [OwnRoute] {
        ownRoutes.filter { $0.acceptsMessages(now: now, grace: policy.retirementGrace) }
    }

    public var safetyNumber: SafetyNumber { SafetyNumber(ourIdentity, peerIdentity) }

    /// The X3DH associated data, the same on both sides.
    var associatedData: [UInt8] {
        role == .initiator
            ? KeyAgreement.associatedData(initiator: ourIdentity, responder: peerIdentity)
            : KeyAgreement.associatedData(initiator: peerIdentity, responder: ourIdentity)
    }

    /// A short id both sides compute alike, for logs and listings.
    public var relationshipID: String { Array(SHA256.hash(associatedData).prefix(8)).hexString }

    public var canSend: Bool { !isBlocked && ratchet.canSend }

    /// Whether the ratchet takes ML-KEM steps with the peer (docs/wire-format.md, "Version 3:
    /// hybrid chains"): true once a chain of the peer has carried a KEM field, from when on
    /// every chain of the peer must. (A hybrid start's keys depend on an ML-KEM secret before
    /// that, from its first message.)
    public var ratchetIsPostQuantum: Bool { ratchet.requiresKEM }

    /// The skipped message keys, which the store keeps in their own table.
    public var skippedKeys: [SkippedMessageKey] { ratchet.skippedKeys.entries }

    // MARK: - Rotation

    /// Whether it is time to hand the peer a fresh address: after `messagesPerAddress` messages
    /// or `addressLifetime`, and only when no earlier offer is still waiting for its
    /// acknowledgement.
    public func rotationDue(now: Date) -> Bool {
        guard !isBlocked, pendingUpdates.count < Self.maximumPendingUpdates / 2 else { return false }
        let offerPending = ownRoutes.contains { if case .offered = $0.state { true } else { false } }
        guard !offerPending else { return false }
        return messagesSinceRotation >= policy.messagesPerAddress
            || now.timeIntervalSince(lastRotation) >= policy.addressLifetime
    }

    /// Offers the peer a fresh route of ours. The routes it replaces stay active until the peer
    /// acknowledges this one.
    public mutating func issue(_ route: Route, authKey: Ed25519.PrivateKey, now: Date) throws(Error) {
        guard !isBlocked else { throw .blocked }
        guard !ownRoutes.contains(where: { $0.address == route.address }) else { return }
        // Each payload repeats every pending update, and a payload holds at most
        // ProtonPayload.maximumUpdates: keep well below that.
        guard pendingUpdates.count < Self.maximumPendingUpdates else {
            throw .tooManyPendingUpdates(limit: Self.maximumPendingUpdates)
        }
        let sequence = enqueue(.addRoute(route))
        ownRoutes.append(OwnRoute(route: route, authKey: authKey, state: .offered(sequence: sequence), issuedAt: now))
        boundOwnRoutes()
        messagesSinceRotation = 0
        lastRotation = now
    }

    /// Moves replaced addresses whose grace period is over to retired, and returns those the
    /// agents should now retire at their receiving services.
    public mutating func completeRetirements(now: Date) -> [OwnRoute] {
        var finished: [OwnRoute] = []
        for index in ownRoutes.indices {
            if case .retiring = ownRoutes[index].state,
                !ownRoutes[index].acceptsMessages(now: now, grace: policy.retirementGrace)
            {
                ownRoutes[index].state = .retired
                if !ownRoutes[index].isShared { finished.append(ownRoutes[index]) }
            }
        }
        boundOwnRoutes()
        return finished
    }

    /// Blocking: every address this peer could reach us at is retired at once; nothing more is
    /// sent. Returns the routes to retire at the receiving services.
    public mutating func block() -> [OwnRoute] {
        var retired: [OwnRoute] = []
        for index in ownRoutes.indices where ownRoutes[index].state != .retired {
            ownRoutes[index].state = .retired
            if !ownRoutes[index].isShared { retired.append(ownRoutes[index]) }
        }
        isBlocked = true
        pendingUpdates.removeAll()
        return retired
    }

    // MARK: - Checkpoint gossip

    /// A directory's signed checkpoint this profile holds, which a peer who follows the same
    /// log can weigh against its own (docs/directory.md, "Gossip through relationships").
    public struct CheckpointOffer: Sendable, Equatable {
        public let origin: String
        public let size: UInt64
        /// The signed note, as stored.
        public let note: [UInt8]

        public init(origin: String, size: UInt64, note: [UInt8]) {
            self.origin = origin
            self.size = size
            self.note = note
        }
    }

    /// Offers the logs least recently given to this peer (or never) first, so that one busy log
    /// cannot keep the others from ever being given; queues at most one. Returns whether one was.
    @discardableResult
    public mutating func offerCheckpoint(from offers: [CheckpointOffer], bodyByteCount: Int) -> Bool {
        let given = Dictionary(checkpointsSent.enumerated().map { ($1.origin, $0) }, uniquingKeysWith: { _, last in last })
        return offers.sorted { given[$0.origin] ?? -1 < given[$1.origin] ?? -1 }.contains { offerCheckpoint($0, bodyByteCount: bodyByteCount) }
    }

    /// Queues `offer` as a `checkpoint` update for the next message (it is then repeated until
    /// acknowledged, like every update) when this peer has not been given a checkpoint of that
    /// log as large, and there is room: one checkpoint in flight at a time, few other updates
    /// pending (rotation keeps its room), and space beside a body of `bodyByteCount` bytes.
    /// Returns whether it was queued.
    @discardableResult
    public mutating func offerCheckpoint(_ offer: CheckpointOffer, bodyByteCount: Int) -> Bool {
        guard !isBlocked, !offer.origin.isEmpty, offer.origin.utf8.count <= Int(UInt8.max), offer.size > 0, offer.note.count <= ProtonUpdate.maximumCheckpointByteCount,
            String(validating: offer.note, as: UTF8.self) != nil,
            pendingUpdates.count < Self.maximumPendingUpdates / 4,
            !pendingUpdates.contains(where: { if case .checkpoint = $0.change { true } else { false } })
        else { return false }
        let sent = checkpointsSent.first { $0.origin == offer.origin }?.size ?? 0
        guard offer.size > sent else { return false }
        let update = ProtonUpdate(sequence: nextUpdateSequence, change: .checkpoint(offer.note))
        guard ProtonPayload.overhead(updates: pendingUpdates + [update]) + bodyByteCount <= DoubleRatchet.maximumPlaintextByteCount else {
            return false
        }
        enqueue(update.change)
        checkpointsSent.removeAll { $0.origin == offer.origin }
        checkpointsSent.append((offer.origin, offer.size))
        if checkpointsSent.count > Self.maximumGossipedLogs { checkpointsSent.removeFirst(checkpointsSent.count - Self.maximumGossipedLogs) }
        return true
    }

    // MARK: - Messages

    public struct OutgoingMessage: Sendable {
        /// The ratchet message (or, for the first message of an initiator, the initial message).
        public let ciphertext: [UInt8]
        /// The peer's routes, in the order to try them.
        public let routes: [Route]
    }

    public struct ReceivedMessage: Sendable, Equatable {
        public let body: [UInt8]
        /// The peer's updates applied by this message (repeats of earlier ones are not listed).
        public let appliedUpdates: [ProtonUpdate]
        /// Our offered routes that the peer has now acknowledged.
        public let acknowledgedAddresses: [AddressID]
        /// Our routes replaced by those, now in their grace period.
        public let retiringAddresses: [AddressID]
        /// The message's number among all the peer's messages (from 1).
        public let sequence: UInt64
        /// The peer says a message of ours arrived at a position already used: this profile
        /// sent from an old copy of its state (restored from a backup, snapshot or copy).
        public let reportsOurStaleState: Bool
    }

    /// Records that the peer sent from an old copy of its state (the receiver got
    /// `RatchetError.staleSenderState`), so that it shows, and tells the peer on our next
    /// message.
    public mutating func notePeerSentFromStaleState(now: Date) {
        peerStaleStateSeenAt = now
        staleNoticePending = true
    }

    /// Records that a message at one of this relationship's own addresses could not be read
    /// (see `unreadableSince`); the next one that can clears it.
    public mutating func noteUnreadableMessage(now: Date) {
        if unreadableSince == nil { unreadableSince = now }
        unreadableCount = unreadableCount == .max ? .max : unreadableCount + 1
    }

    /// Records that the receiving service says `address`, which this proton still uses
    /// (active or offered), was retired: another copy of this profile retired it (see
    /// `unreadableSince`). Counted once, however often it is polled; true if it was.
    @discardableResult
    public mutating func noteAddressGoneAtService(_ address: AddressID, now: Date) -> Bool {
        guard let route = ownRoutes.first(where: { $0.address == address && !$0.isShared }) else { return false }
        switch route.state {
        case .active, .offered: break
        case .retiring, .retired: return false
        }
        guard unreadableSince == nil else { return false }
        unreadableSince = now
        return true
    }

    /// Encrypts `body` with every unacknowledged update and our acknowledgement attached.
    public mutating func seal(_ body: [UInt8], now: Date, random: some RandomSource) throws(Error) -> OutgoingMessage {
        guard !isBlocked else { throw .blocked }
        let payload = ProtonPayload(
            acknowledged: peerUpdatesApplied, sequence: messagesSent + 1, notices: staleNoticePending ? .staleSenderState : [],
            updates: pendingUpdates, body: body)
        let plaintext = payload.encoded()
        guard plaintext.count <= DoubleRatchet.maximumPlaintextByteCount else {
            throw .bodyTooLarge(limit: DoubleRatchet.maximumPlaintextByteCount - ProtonPayload.overhead(updates: pendingUpdates))
        }
        var next = self
        do {
            let ciphertext = try next.ratchet.encrypt(plaintext, associatedData: associatedData, random: random)
            next.messagesSent += 1
            next.messagesSinceRotation += 1
            // The notice rides on this one message; the agents resend that message until it is delivered.
            next.staleNoticePending = false
            self = next
            return OutgoingMessage(ciphertext: ciphertext, routes: sendingRoutes)
        } catch let error as RatchetError {
            throw .ratchet(error)
        } catch {
            throw .ratchet(.cannotSendYet)
        }
    }

    /// Decrypts a message that arrived at `address`, applies the peer's updates and
    /// acknowledgement, and returns the body. Throws — changing nothing — for a retired or
    /// unknown address, a refused ratchet message or a malformed payload.
    public mutating func open(
        _ ciphertext: [UInt8], at address: AddressID, now: Date, random: some RandomSource
    ) throws(Error) -> ReceivedMessage {
        guard let route = ownRoutes.first(where: { $0.address == address }) else { throw .unknownAddress(address) }
        guard route.acceptsMessages(now: now, grace: policy.retirementGrace) else {
            throw isBlocked ? .blocked : .retiredAddress(address)
        }
        var next = self
        let result = try next.openUnchecked(ciphertext, now: now, random: random)
        self = next
        return result
    }

    mutating func openUnchecked(_ ciphertext: [UInt8], now: Date, random: some RandomSource) throws(Error) -> ReceivedMessage {
        let plaintext: [UInt8]
        do {
            plaintext = try ratchet.decrypt(ciphertext, associatedData: associatedData, now: now, random: random)
        } catch {
            throw .ratchet(error)
        }
        let payload: ProtonPayload
        do { payload = try ProtonPayload(decoding: plaintext) } catch { throw .malformedPayload(error) }
        messagesReceived += 1
        messagesSinceRotation += 1
        unreadableSince = nil
        unreadableCount = 0
        highestPeerSequence = max(highestPeerSequence, payload.sequence)
        let reportsStale = payload.notices.contains(.staleSenderState)
        if reportsStale { ourStaleStateReportedAt = now }
        let (acknowledged, retiring) = applyAcknowledgement(payload.acknowledged, now: now)
        let applied = applyUpdates(payload.updates, now: now)
        return ReceivedMessage(
            body: payload.body, appliedUpdates: applied, acknowledgedAddresses: acknowledged, retiringAddresses: retiring,
            sequence: payload.sequence, reportsOurStaleState: reportsStale)
    }

    // MARK: - Updates

    @discardableResult
    mutating func enqueue(_ change: ProtonUpdate.Change) -> UInt64 {
        let sequence = nextUpdateSequence
        nextUpdateSequence += 1
        pendingUpdates.append(ProtonUpdate(sequence: sequence, change: change))
        return sequence
    }

    private mutating func applyAcknowledgement(_ acknowledged: UInt64, now: Date) -> ([AddressID], [AddressID]) {
        // An acknowledgement of something never sent is ignored rather than trusted.
        let valid = min(acknowledged, nextUpdateSequence - 1)
        pendingUpdates.removeAll { $0.sequence <= valid }
        var newlyActive: [AddressID] = []
        var newest: (index: Int, sequence: UInt64)?
        for index in ownRoutes.indices {
            if case .offered(let sequence) = ownRoutes[index].state, sequence <= valid {
                ownRoutes[index].state = .active
                newlyActive.append(ownRoutes[index].address)
                if sequence > newest?.sequence ?? 0 { newest = (index, sequence) }
            }
        }
        guard let newest else { return ([], []) }
        var retiring: [AddressID] = []
        // One active route: the newest acknowledged. The peer puts each new route first, so the
        // others (older actives, and older offers acknowledged at the same time) start retiring.
        for index in ownRoutes.indices where ownRoutes[index].state == .active && index != newest.index {
            ownRoutes[index].state = .retiring(since: now)
            retiring.append(ownRoutes[index].address)
            // Shared (first-contact) routes too: this proton stops accepting them, so the peer
            // must stop sending to them; only the deletion at the service is skipped for them.
            // A retirement the pending list has no room for is not announced: the peer drops
            // the address anyway once it fails with "gone", and its newest route comes first.
            if pendingUpdates.count < Self.maximumPendingUpdates { enqueue(.retireAddress(ownRoutes[index].address)) }
        }
        boundOwnRoutes()
        return (newlyActive, retiring)
    }

    /// Applies the peer's updates in sequence order; repeats of applied ones are skipped, and a
    /// gap stops application until the missing update arrives (the peer repeats them all).
    private mutating func applyUpdates(_ updates: [ProtonUpdate], now: Date) -> [ProtonUpdate] {
        var applied: [ProtonUpdate] = []
        for update in updates.sorted(by: { $0.sequence < $1.sequence }) {
            if update.sequence <= peerUpdatesApplied { continue }
            guard update.sequence == peerUpdatesApplied + 1 else { break }
            switch update.change {
            case .addRoute(let route):
                peerRoutes.removeAll { $0.route.address == route.address }
                peerRoutes.insert(PeerRoute(route: route, addedAt: now), at: 0)
                if peerRoutes.count > Self.maximumPeerRoutes { peerRoutes.removeLast(peerRoutes.count - Self.maximumPeerRoutes) }
            case .retireAddress(let address):
                peerRoutes.removeAll { $0.route.address == address }
            case .displayName(let name):
                peerDisplayName = name
            case .checkpoint:
                // Nothing of the relationship changes: the client weighs it (`appliedUpdates`).
                break
            }
            peerUpdatesApplied = update.sequence
            applied.append(update)
        }
        return applied
    }

    /// Keeps our routes within the limits the stored state is read with: at most
    /// `maximumLiveOwnRoutes` accept messages (the oldest retiring ones end their grace at once,
    /// and the agents retire them at their services on their next round), and at most
    /// `maximumOwnRoutes` are kept (the oldest retired ones go first).
    mutating func boundOwnRoutes() {
        let waiting = { (route: OwnRoute) -> Bool in
            if case .retiring(let since) = route.state { since > Self.graceEndedEarly } else { false }
        }
        var live = ownRoutes.filter { $0.state != .retired && !($0.state == .retiring(since: Self.graceEndedEarly)) }.count
        while live > Self.maximumLiveOwnRoutes,
            let oldest = ownRoutes.indices.filter({ waiting(ownRoutes[$0]) }).min(by: { ownRoutes[$0].issuedAt < ownRoutes[$1].issuedAt })
        {
            ownRoutes[oldest].state = .retiring(since: Self.graceEndedEarly)
            live -= 1
        }
        while ownRoutes.count > Self.maximumOwnRoutes, let oldestRetired = ownRoutes.firstIndex(where: { $0.state == .retired }) {
            ownRoutes.remove(at: oldestRetired)
        }
        while ownRoutes.count > Self.hardOwnRouteLimit,
            let oldest = ownRoutes.indices.filter({ ownRoutes[$0].state == .retiring(since: Self.graceEndedEarly) })
                .min(by: { ownRoutes[$0].issuedAt < ownRoutes[$1].issuedAt })
        {
            ownRoutes.remove(at: oldest)
        }
    }
}
