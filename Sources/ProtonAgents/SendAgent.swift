import Foundation
import ProtonCore
import ProtonCrypto
import ProtonStore

/// The client side of sending: seals messages (rotating our address for the peer when the
/// proton says it is time), keeps them in the profile's persistent outbox, and delivers them
/// through one of our relays to one of the peer's routes, failing over across both lists.
/// A message that cannot go now stays in the outbox with its attempt count, and a later agent
/// — in this process or the next — retries it after a backoff.
public actor SendAgent {
    public struct Sent: Sendable {
        public let messageID: Int64
        public let outboxID: Int64
        /// The fresh route offered to the peer with this message, if rotation was due.
        public let rotatedTo: Route?
        public let events: [DeliveryEvent]

        public var delivered: Bool {
            events.contains { if case .delivered(let id, _, _, _) = $0 { id == outboxID } else { false } }
        }
    }

    public let store: ProfileStore
    /// Our sending services (or other relays), in order of preference.
    public let relays: [any Relay]
    public let issuer: AddressIssuer
    public let retry: RetryPolicy
    private let random = SystemRandom()
    /// Spreads consecutive messages over the relays rather than loading the first one alone.
    private var nextRelay = 0

    public init(store: ProfileStore, relays: [any Relay], receivingServices: [ReceivingEndpoint], retry: RetryPolicy = RetryPolicy()) {
        self.store = store
        self.relays = relays
        self.issuer = AddressIssuer(services: receivingServices)
        self.retry = retry
    }

    // MARK: - Sending

    /// Seals `body` for the relationship, records it, and tries to deliver it with anything older
    /// still waiting for this relationship. Older messages still in their backoff hold it back
    /// (order matters more than speed) unless `ignoringBackoff`, as when a person asks to send.
    public func send(
        _ body: [UInt8], to protonID: ProtonID, now: Date, ignoringBackoff: Bool = false,
        checkpoints: @Sendable (Proton) -> [Proton.CheckpointOffer] = { _ in [] }
    ) async throws -> Sent {
        let composed = try await compose(body, to: protonID, now: now, checkpoints: checkpoints)
        let events = composed.events + (await flush(now: now, protonID: protonID, ignoringBackoff: ignoringBackoff))
        return Sent(messageID: composed.messageID, outboxID: composed.outboxID, rotatedTo: composed.rotatedTo, events: events)
    }

    /// Seals and records without delivering: the proton step, the log entry and the outbox item
    /// commit together. Follows the rotation state: when `rotationDue`, a fresh address is
    /// created at one of our receiving services and offered with this message. `checkpoints`:
    /// the directory checkpoints this relationship's peer may be given (checkpoint gossip,
    /// `Proton.offerCheckpoint`: each at most once).
    public func compose(
        _ body: [UInt8], to protonID: ProtonID, now: Date, checkpoints: @Sendable (Proton) -> [Proton.CheckpointOffer] = { _ in [] }
    ) async throws -> Sent {
        let current = try store.proton(protonID)
        guard !current.isBlocked else { throw Proton.Error.blocked }
        var fresh: OwnRoute?
        var events: [DeliveryEvent] = []
        if current.rotationDue(now: now) {
            do {
                fresh = try await issuer.createRoute(after: current.ownRoutes.last?.route.serviceURI, now: now)
            } catch {
                // The message matters more than the rotation, which the next message retries.
                events.append(.rotationDeferred(protonID: protonID, reason: error.description))
            }
        }
        let random = self.random
        let (ids, rotated) = try store.transaction { tx in
            // Loaded again inside the transaction: another process may have stepped it.
            var proton = try tx.proton(protonID)
            var rotated: Route?
            if let fresh, proton.rotationDue(now: now) {
                try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
                rotated = fresh.route
            }
            proton.offerCheckpoint(from: checkpoints(proton), bodyByteCount: body.count)
            let outgoing = try proton.seal(body, now: now, random: random)
            let ids = try tx.recordOutgoing(
                protonID: protonID, updated: proton, body: body, ciphertext: outgoing.ciphertext, routes: outgoing.routes, now: now)
            return (ids, rotated)
        }
        return Sent(messageID: ids.messageID, outboxID: ids.outboxID, rotatedTo: rotated, events: events)
    }

    // MARK: - Delivering

    /// Tries every outbox item whose backoff is over (or all of them, `ignoringBackoff`), oldest
    /// first. Within one relationship an undelivered item holds back the later ones, so that the
    /// peer receives them in order.
    public func flush(now: Date, protonID only: ProtonID? = nil, ignoringBackoff: Bool = false) async -> [DeliveryEvent] {
        let items: [OutboxItem]
        do { items = try store.outbox(protonID: only) } catch {
            return []
        }
        var events: [DeliveryEvent] = []
        var heldBack: Set<ProtonID> = []
        var protons: [ProtonID: Proton] = [:]
        var retiredRoutes: Set<AddressID> = []
        var unreachable: Set<String> = []
        for item in items where !heldBack.contains(item.protonID) {
            guard ignoringBackoff || retry.isDue(item, now: now) else {
                heldBack.insert(item.protonID)
                continue
            }
            if protons[item.protonID] == nil { protons[item.protonID] = try? store.proton(item.protonID) }
            // A relationship we blocked sends nothing; its items wait in case it is unblocked.
            if protons[item.protonID]?.isBlocked ?? false {
                heldBack.insert(item.protonID)
                continue
            }
            let routes = candidateRoutes(for: item, current: protons[item.protonID])
                .filter { !retiredRoutes.contains($0.address) && !unreachable.contains($0.serviceURI) }
            let outcome = await deliver(item, over: routes)
            unreachable.formUnion(outcome.unreachable)
            for address in outcome.retired {
                retiredRoutes.insert(address)
                events.append(.addressRetired(protonID: item.protonID, address: address))
            }
            if let (address, via) = outcome.delivered {
                do {
                    try store.removeFromOutbox(item.id)
                    events.append(.delivered(outboxID: item.id, protonID: item.protonID, address: address, via: via))
                } catch {
                    // Delivered but still queued: it goes again later and the receiver drops the duplicate.
                    heldBack.insert(item.protonID)
                }
            } else {
                try? store.recordDeliveryAttempt(outboxID: item.id, now: now)
                heldBack.insert(item.protonID)
                events.append(
                    .deferred(outboxID: item.id, protonID: item.protonID, attempts: item.attempts + 1, reason: outcome.reason))
            }
        }
        return events
    }

    /// The peer's current routes (newest first) and then the routes known when the message was
    /// sealed: the peer may have handed out new routes, or retired old ones, since.
    private func candidateRoutes(for item: OutboxItem, current proton: Proton?) -> [Route] {
        var seen: Set<AddressID> = []
        return ((proton?.sendingRoutes ?? []) + item.routes).filter { seen.insert($0.address).inserted }
    }

    private struct Outcome {
        var delivered: (AddressID, String)?
        var retired: [AddressID] = []
        /// Receiving services no relay could get through to: other routes there fail alike.
        var unreachable: Set<String> = []
        var reason = "the contact has no route to deliver to"
    }

    /// For each route in order, tries our relays in turn: a retired address or a refusal moves on
    /// to the next route; an unavailable relay moves on to the next relay.
    private func deliver(_ item: OutboxItem, over routes: [Route]) async -> Outcome {
        var outcome = Outcome()
        guard !relays.isEmpty else {
            outcome.reason = AgentError.noSendingService.description
            return outcome
        }
        let first = nextRelay
        nextRelay = (nextRelay + 1) % relays.count
        for route in routes where !outcome.unreachable.contains(route.serviceURI) {
            let envelope: Envelope
            do { envelope = try Envelope(sealing: item.ciphertext, to: route, random: random) } catch {
                outcome.reason = "the message could not be sealed for \(route.serviceURI): \(error)"
                continue
            }
            var everyRelayUnavailable = true
            relayLoop: for offset in 0..<relays.count {
                let relay = relays[(first + offset) % relays.count]
                do throws(RelayError) {
                    try await relay.deliver(envelope, to: route)
                    outcome.delivered = (route.address, relay.name)
                    return outcome
                } catch {
                    outcome.reason = "\(relay.name) to \(route.serviceURI): \(error)"
                    if case .unavailable = error {} else { everyRelayUnavailable = false }
                    switch error {
                    case .addressRetired(let address):
                        outcome.retired.append(address)
                        break relayLoop
                    case .rejected:
                        break relayLoop
                    case .unavailable:
                        continue relayLoop
                    }
                }
            }
            if everyRelayUnavailable { outcome.unreachable.insert(route.serviceURI) }
        }
        return outcome
    }
}
