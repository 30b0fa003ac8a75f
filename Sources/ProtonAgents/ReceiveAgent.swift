import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// The client side of receiving: long-polls all our receiving services for every address any
/// of our relationships still accepts messages at, decrypts, applies the peer's updates,
/// records each message with its ratchet step in one transaction, and only then acknowledges
/// it to the service. Redelivered duplicates are dropped and acknowledged; addresses whose
/// grace period is over are retired at their service.
///
/// It also polls the addresses of our unused invites: an initial message arriving at one
/// completes the relationship (`FirstContact`), and the invite is used up in the same
/// transaction that stores the new proton and its first message. Likewise the first-contact
/// addresses of the key packages we published at brokered directories (`KeyPackageContact`):
/// shared by everyone who fetched the package, each is polled once, not once per relationship.
public actor ReceiveAgent {
    public let store: ProfileStore
    private let mailboxes: [String: any Mailbox]
    /// The per-address cursors as stored in the profile (`ReceiveCursor`), keyed by address in hex.
    private var cursors: [String: ReceiveCursor]
    private let random = SystemRandom()

    /// `stateDirectory`, when given, is where an earlier version kept the per-address cursors
    /// (`receive-state.json`, the profile directory): they are moved into the profile.
    /// How long a message that overtook an earlier one is held back waiting for it, and how
    /// many one relationship may hold; past either, the held ones are shown in order and the
    /// gaps given up on.
    public let holdBack: TimeInterval
    public let maximumHeld: Int

    public init(
        store: ProfileStore, services: [any Mailbox], stateDirectory: URL? = nil, holdBack: TimeInterval = 120, maximumHeld: Int = 32
    ) throws(AgentError) {
        self.store = store
        self.holdBack = holdBack
        self.maximumHeld = maximumHeld
        self.mailboxes = Dictionary(services.map { ($0.serviceURI, $0) }, uniquingKeysWith: { first, _ in first })
        if let stateDirectory { try LegacyReceiveCursors.importFile(in: stateDirectory, into: store) }
        do { cursors = try store.receiveCursors() } catch {
            throw .configuration(path: store.directory.path, reason: "\(error)")
        }
    }

    private struct Target: Sendable {
        /// The relationship the address belongs to, or nil for an unused invite's address.
        let protonID: ProtonID?
        let inviteID: InviteID?
        /// Set for a published key package's shared address, with the relationships that still
        /// accept messages there.
        var keyPackage: (id: KeyPackageID, owners: [ProtonID])? = nil
        let owned: OwnedAddress
        let mailbox: any Mailbox
        let after: Int64
    }

    /// One round: fetches every address (waiting up to `wait` seconds for something to arrive),
    /// processes what came, acknowledges it, and retires addresses whose grace period is over.
    public func poll(wait: Int, now: Date) async -> [ReceiveEvent] {
        var events: [ReceiveEvent] = []
        var targets: [Target] = []
        let summaries: [ProtonSummary]
        do { summaries = try store.protons() } catch {
            return [.storeFailed(reason: "\(error)")]
        }
        var owned: [(Date, Target)] = []
        var (packageTargets, packageEvents) = await keyPackageTargets(now: now)
        events += packageEvents
        let shared = Dictionary(uniqueKeysWithValues: packageTargets.enumerated().map { ($1.1.owned.id, $0) })
        for summary in summaries {
            let proton: Proton
            do { proton = try store.proton(summary.id) } catch {
                // Never skipped in silence: every round says so until it is dealt with.
                events.append(.relationshipDamaged(protonID: summary.id, reason: "\(error)"))
                continue
            }
            guard !proton.isBlocked else { continue }
            for route in proton.receivingAddresses(now: now) {
                if let index = shared[route.address] {
                    packageTargets[index].1.keyPackage?.owners.append(summary.id)
                    continue
                }
                guard let mailbox = mailboxes[route.route.serviceURI] else {
                    events.append(.unknownService(protonID: summary.id, serviceURI: route.route.serviceURI))
                    continue
                }
                let after = cursors[route.address.hex]?.recorded ?? 0
                owned.append(
                    (route.issuedAt, Target(protonID: summary.id, inviteID: nil, owned: route.ownedAddress, mailbox: mailbox, after: after)))
            }
        }
        let (inviteTargets, inviteEvents) = await inviteTargets(now: now)
        owned += inviteTargets + packageTargets
        events += inviteEvents
        // Oldest addresses first: a peer moves to a newer address only after the older one,
        // so this keeps each sender's messages in the order they were sent.
        targets = owned.sorted { $0.0 < $1.0 }.map(\.1)
        if targets.isEmpty, wait > 0 {
            // Nothing to long-poll: wait as a long-poll would, so that a watching caller does not spin.
            try? await Task.sleep(for: .seconds(wait))
        }
        let fetched = await fetchAll(targets, wait: wait)
        for (index, target) in targets.enumerated() {
            switch fetched[index] {
            case .success(let messages):
                events += process(messages, for: target, now: now)
            case .failure(.addressRetired):
                if let protonID = target.protonID {
                    events.append(.addressGone(protonID: protonID, address: target.owned.id))
                    events += noteGone(target.owned.id, of: protonID, now: now)
                }
            case .failure(let error):
                events.append(.serviceFailed(serviceURI: target.mailbox.serviceURI, error: error))
            case nil:
                break
            }
            events += await acknowledge(target)
        }
        events += await completeRetirements(summaries, now: now)
        events += showOverdueHeldMessages(now: now)
        forgetCursors(except: Set(targets.map(\.owned.id.hex)))
        return events
    }

    /// Messages held back past `holdBack` (or beyond `maximumHeld`) are shown now, in order.
    private func showOverdueHeldMessages(now: Date) -> [ReceiveEvent] {
        do {
            return try store.showHeldMessages(heldBefore: now.addingTimeInterval(-holdBack), maximumHeld: maximumHeld, now: now)
                .flatMap { protonID, shown in Self.events(for: shown, of: protonID, at: now) }
        } catch {
            return [.storeFailed(reason: "\(error)")]
        }
    }

    /// The events for messages shown now, in order: a note before each one that arrived late
    /// or after a gap given up on.
    private static func events(for shown: [ShownMessage], of protonID: ProtonID, at now: Date) -> [ReceiveEvent] {
        shown.flatMap { message -> [ReceiveEvent] in
            var events: [ReceiveEvent] = []
            if message.late { events.append(.arrivedLate(protonID: protonID, sequence: message.sequence)) }
            if let sequence = message.skippedBefore { events.append(.stoppedWaiting(protonID: protonID, before: sequence)) }
            events.append(.received(protonID: protonID, messageID: message.id, body: message.body, address: message.address, at: now))
            return events
        }
    }

    typealias FetchResults = [Int: Result<[ServiceAPI.StoredMessage], RelayError>]

    /// The most requests in flight at once, and so the most addresses long-polled together: an
    /// HTTP client keeps a handful of connections per host, and a thousand long-polls would
    /// wait for connections that never free up.
    public static let maximumConcurrentFetches = 8

    /// Fetches every address. Up to `maximumConcurrentFetches` addresses are long-polled
    /// together. Beyond that, every address is first checked without waiting (that many at a
    /// time); only if nothing came does the round long-poll the newest addresses, those a peer
    /// most likely sends to next (older ones are checked again next round). As soon as one
    /// long-poll answers with messages the others are cancelled: what they hold stays at the
    /// service for the next round.
    private func fetchAll(_ targets: [Target], wait: Int) async -> FetchResults {
        let limit = Self.maximumConcurrentFetches
        guard targets.count > limit, wait > 0 else {
            return await Self.fetch(Array(targets.indices), of: targets, wait: wait, stopAtFirstMessage: wait > 0)
        }
        var results = await Self.fetch(Array(targets.indices), of: targets, wait: 0, stopAtFirstMessage: false)
        let arrived = results.values.contains { if case .success(let messages) = $0 { !messages.isEmpty } else { false } }
        guard !arrived else { return results }
        // `targets` is sorted oldest first.
        let newest = Array(targets.indices.suffix(limit))
        for (index, result) in await Self.fetch(newest, of: targets, wait: wait, stopAtFirstMessage: true) { results[index] = result }
        return results
    }

    /// Fetches `indices` of `targets`, at most `maximumConcurrentFetches` at a time.
    private static func fetch(_ indices: [Int], of targets: [Target], wait: Int, stopAtFirstMessage: Bool) async -> FetchResults {
        await withTaskGroup(of: FetchResult.self) { group in
            var pending = indices.makeIterator()
            for _ in 0..<maximumConcurrentFetches {
                guard let index = pending.next() else { break }
                startFetch(index, of: targets[index], wait: wait, in: &group)
            }
            var results: FetchResults = [:]
            var cancelled = false
            for await answer in group {
                if cancelled, case .failure = answer.result { continue }
                results[answer.index] = answer.result
                if stopAtFirstMessage, !cancelled, case .success(let messages) = answer.result, !messages.isEmpty {
                    cancelled = true
                    group.cancelAll()
                }
                if !cancelled, let next = pending.next() { startFetch(next, of: targets[next], wait: wait, in: &group) }
            }
            return results
        }
    }

    struct FetchResult: Sendable {
        let index: Int
        let result: Result<[ServiceAPI.StoredMessage], RelayError>
    }

    /// One fetch as a child task. Its answer is a struct, never a tuple: Swift 6.3.1 at -O loses
    /// the captured element of a tuple built as `(index, try await …)` inside `do`/`catch` in a
    /// child task (LLVM's dead-store elimination drops the store made before the suspension),
    /// so the tasks answered with indices 0 or leftover memory in place of 1 and 2, and the
    /// messages they fetched were matched to no address and silently left at the service
    /// (docs/reliability.md, "Found by the release build").
    private static func startFetch(_ index: Int, of target: Target, wait: Int, in group: inout TaskGroup<FetchResult>) {
        group.addTask {
            do throws(RelayError) {
                return FetchResult(index: index, result: .success(try await target.mailbox.fetch(target.owned, after: target.after, wait: wait)))
            } catch {
                return FetchResult(index: index, result: .failure(error))
            }
        }
    }

    enum Outcome {
        case received(ProtonID, [ShownMessage], reportsOurStaleState: Bool)
        case started(ProtonID, Int64, [UInt8], peerName: String?)
        case duplicate(ProtonID)
        case staleSender(ProtonID)
        case retired(ProtonID)
        case undecryptable(ProtonID, String)
        case inviteRefused(String)
        case connected(ProtonID, Int64, [UInt8], peerName: String?, name: String)
        case keyPackageRefused(String)
    }

    /// Our unused invites' addresses, polled until a week after they expire (a message that
    /// reached the service in time is accepted however late we fetch it); older ones are
    /// deleted and their addresses retired at the service.
    private func inviteTargets(now: Date) async -> ([(Date, Target)], [ReceiveEvent]) {
        var events: [ReceiveEvent] = []
        do {
            for route in try store.removeExpiredInvites(before: now.addingTimeInterval(-FirstContact.lateArrivalWindow)) {
                try? await mailboxes[route.route.serviceURI]?.retire(route.ownedAddress)
            }
        } catch {
            events.append(.storeFailed(reason: "\(error)"))
        }
        let invites: [PendingInvite]
        do { invites = try store.pendingInvites() } catch { return ([], events + [.storeFailed(reason: "\(error)")]) }
        var targets: [(Date, Target)] = []
        for invite in invites {
            guard let route = invite.route, let mailbox = mailboxes[route.route.serviceURI] else { continue }
            let after = cursors[route.address.hex]?.recorded ?? 0
            targets.append(
                (invite.created, Target(protonID: nil, inviteID: invite.id, owned: route.ownedAddress, mailbox: mailbox, after: after)))
        }
        return (targets, events)
    }

    /// The shared addresses of our published key packages, polled until a week after they
    /// expire; older packages are deleted (secrets included) and their addresses retired.
    private func keyPackageTargets(now: Date) async -> ([(Date, Target)], [ReceiveEvent]) {
        var events: [ReceiveEvent] = []
        do {
            for route in try store.removeExpiredKeyPackages(before: now.addingTimeInterval(-KeyPackageContact.lateArrivalWindow)) {
                try? await mailboxes[route.route.serviceURI]?.retire(route.ownedAddress)
            }
        } catch {
            events.append(.storeFailed(reason: "\(error)"))
        }
        let packages: [PublishedKeyPackage]
        do { packages = try store.publishedKeyPackages() } catch { return ([], events + [.storeFailed(reason: "\(error)")]) }
        var targets: [(Date, Target)] = []
        for package in packages {
            guard let mailbox = mailboxes[package.route.route.serviceURI] else { continue }
            let after = cursors[package.address.hex]?.recorded ?? 0
            targets.append(
                (package.created, Target(
                    protonID: nil, inviteID: nil, keyPackage: (package.id, []), owned: package.route.ownedAddress, mailbox: mailbox,
                    after: after)))
        }
        return (targets, events)
    }

    private func process(_ messages: [ServiceAPI.StoredMessage], for target: Target, now: Date) -> [ReceiveEvent] {
        var target = target
        var events: [ReceiveEvent] = []
        let address = target.owned.id
        var cursor = cursors[address.hex] ?? ReceiveCursor()
        for message in messages.sorted(by: { $0.id < $1.id }) where message.id > cursor.recorded {
            let outcome: Outcome
            let position = ReceivePosition(address: address.hex, messageID: message.id)
            do {
                if let keyPackage = target.keyPackage {
                    outcome = try KeyPackageContact.record(
                        message, keyPackageID: keyPackage.id, at: address, owners: keyPackage.owners, store: store, position: position,
                        now: now, random: random
                    ) { protonID in try record(message, at: address, protonID: protonID, position: position, now: now) }
                } else if let inviteID = target.inviteID {
                    outcome = try FirstContact.record(
                        message, inviteID: inviteID, at: address, store: store, position: position, now: now, random: random)
                } else {
                    outcome = try record(message, at: address, protonID: target.protonID!, position: position, now: now)
                }
            } catch {
                // Not recorded: neither the cursor nor the service moves, and the next round retries.
                events.append(.storeFailed(reason: "\(error)"))
                break
            }
            switch outcome {
            case .received(let protonID, let shown, let reportsOurStaleState):
                if reportsOurStaleState { events.append(.ourStaleStateReported(protonID: protonID, at: now)) }
                events += Self.events(for: shown, of: protonID, at: now)
            case .started(let protonID, let id, let body, let peerName):
                events.append(.relationshipStarted(protonID: protonID, peerName: peerName, address: address, at: now))
                events.append(.received(protonID: protonID, messageID: id, body: body, address: address, at: now))
                // The invite is used up: whatever follows at this address belongs to the new relationship.
                target = Target(protonID: protonID, inviteID: nil, owned: target.owned, mailbox: target.mailbox, after: target.after)
            case .connected(let protonID, let id, let body, let peerName, let name):
                events.append(.connected(protonID: protonID, peerName: peerName, name: name, address: address, at: now))
                events.append(.received(protonID: protonID, messageID: id, body: body, address: address, at: now))
                // Its later messages before it learns our own address come here too.
                target.keyPackage?.owners.insert(protonID, at: 0)
            case .keyPackageRefused(let reason):
                events.append(.keyPackageRefused(address: address, reason: reason))
            case .duplicate(let protonID):
                events.append(.duplicateDropped(protonID: protonID, address: address))
            case .staleSender(let protonID):
                events.append(.peerSentFromStaleState(protonID: protonID, address: address, at: now))
            case .retired(let protonID):
                events.append(.retiredAddress(protonID: protonID, address: address))
            case .undecryptable(let protonID, let reason):
                events.append(.undecryptable(protonID: protonID, address: address, reason: reason))
            case .inviteRefused(let reason):
                events.append(.inviteRefused(address: address, reason: reason))
            }
            // The cursor moved in the outcome's own transaction when it changed something; here
            // when it changed nothing (a refusal, a duplicate).
            do { try store.advanceReceiveCursor(to: position) } catch {
                events.append(.storeFailed(reason: "\(error)"))
                break
            }
            cursor.recorded = message.id
            cursors[address.hex] = cursor
        }
        return events
    }

    /// Opens and records one message in one transaction with its ratchet step.
    private func record(
        _ message: ServiceAPI.StoredMessage, at address: AddressID, protonID: ProtonID, position: ReceivePosition, now: Date
    ) throws -> Outcome {
        guard let ciphertext = try? Base64URL.decode(message.ciphertext, limit: ServiceAPI.maximumCiphertextByteCount) else {
            return .undecryptable(protonID, "the service returned a ciphertext that is not base64url")
        }
        let random = self.random
        return try store.transaction(advancing: position) { (tx: StoreTransaction) throws -> Outcome in
            var proton = try tx.proton(protonID)
            let opened: Proton.ReceivedMessage
            do throws(Proton.Error) {
                opened = try proton.open(ciphertext, at: address, now: now, random: random)
            } catch {
                switch error {
                case .ratchet(.duplicateMessage): return .duplicate(protonID)
                case .ratchet(.staleSenderState):
                    // Nothing of the message can be read; what is recorded is that it came.
                    proton.notePeerSentFromStaleState(now: now)
                    try tx.updateProton(protonID, to: proton, now: now)
                    return .staleSender(protonID)
                case .retiredAddress, .blocked: return .retired(protonID)
                default:
                    if let refusal = try FirstContact.refusalOfSecondUse(ciphertext, at: address, tx: tx) { return refusal }
                    // At an address only the peer and its service know (not an invite's,
                    // which whoever saw the invite can write to), a message no key opens is
                    // kept in mind: after a restore from an old copy it is all the peer's
                    // messages will ever be here (`Proton.unreadableSince`).
                    if Self.isUnreadable(error), proton.ownRoutes.contains(where: { $0.address == address && !$0.isShared }) {
                        proton.noteUnreadableMessage(now: now)
                        try tx.updateProton(protonID, to: proton, now: now)
                    }
                    return .undecryptable(protonID, "\(error)")
                }
            }
            let shown = try tx.recordIncoming(
                protonID: protonID, updated: proton, body: opened.body, address: address, sequence: opened.sequence, now: now)
            // Checkpoint gossip is weighed by the client, which knows the directories.
            for case .checkpoint(let note) in opened.appliedUpdates.map(\.change) {
                try tx.queueGossipedCheckpoint(note, from: protonID, now: now)
            }
            return .received(protonID, shown, reportsOurStaleState: opened.reportsOurStaleState)
        }
    }

    /// An address this relationship still uses is gone at its service: a sign of an old copy
    /// (`Proton.noteAddressGoneAtService`), kept with the relationship.
    private func noteGone(_ address: AddressID, of protonID: ProtonID, now: Date) -> [ReceiveEvent] {
        do {
            try store.transaction { tx in
                var proton = try tx.proton(protonID)
                if proton.noteAddressGoneAtService(address, now: now) { try tx.updateProton(protonID, to: proton, now: now) }
            }
            return []
        } catch {
            return [.storeFailed(reason: "\(error)")]
        }
    }

    private static func isUnreadable(_ error: Proton.Error) -> Bool {
        switch error {
        case .ratchet(.undecryptableHeader), .ratchet(.authenticationFailure), .ratchet(.invalidPadding): true
        default: false
        }
    }

    /// Acknowledges what is recorded but not yet acknowledged, including what an earlier round
    /// or run could not.
    private func acknowledge(_ target: Target) async -> [ReceiveEvent] {
        let key = target.owned.id.hex
        guard let cursor = cursors[key], cursor.recorded > cursor.acknowledged else { return [] }
        do throws(RelayError) {
            try await target.mailbox.acknowledge(target.owned, upTo: cursor.recorded)
        } catch .addressRetired {
            // Gone at the service: nothing is left to acknowledge.
        } catch {
            return [.serviceFailed(serviceURI: target.mailbox.serviceURI, error: error)]
        }
        do { try store.acknowledgeReceived(address: key, upTo: cursor.recorded) } catch { return [.storeFailed(reason: "\(error)")] }
        cursors[key]?.acknowledged = cursor.recorded
        return []
    }

    /// Retires at their services the addresses whose grace period is over, and only then
    /// records the retirement, so that a service that is down gets asked again next round.
    private func completeRetirements(_ summaries: [ProtonSummary], now: Date) async -> [ReceiveEvent] {
        var events: [ReceiveEvent] = []
        for summary in summaries {
            guard var proton = try? store.proton(summary.id) else { continue }
            let finished = proton.completeRetirements(now: now)
            guard !finished.isEmpty else { continue }
            var allDone = true
            for route in finished {
                guard let mailbox = mailboxes[route.route.serviceURI] else {
                    events.append(.unknownService(protonID: summary.id, serviceURI: route.route.serviceURI))
                    continue
                }
                do throws(RelayError) {
                    try await mailbox.retire(route.ownedAddress)
                    events.append(.addressRetiredAtService(protonID: summary.id, address: route.address))
                } catch {
                    allDone = false
                    events.append(.serviceFailed(serviceURI: mailbox.serviceURI, error: error))
                }
            }
            guard allDone else { continue }
            do {
                try store.transaction { tx in
                    var current = try tx.proton(summary.id)
                    _ = current.completeRetirements(now: now)
                    try tx.updateProton(summary.id, to: current, now: now)
                }
            } catch {
                events.append(.storeFailed(reason: "\(error)"))
            }
        }
        return events
    }

    private func forgetCursors(except polled: Set<String>) {
        let stale = cursors.keys.filter { !polled.contains($0) }
        guard !stale.isEmpty else { return }
        for key in stale { cursors[key] = nil }
        try? store.forgetReceiveCursors(except: polled)
    }
}
