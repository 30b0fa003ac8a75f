import Foundation
import ProtonAgents
import ProtonCore
import ProtonStore

extension Profile {
    public typealias SendReport = SendAgent.Sent

    /// Seals `body` for the contact, saves it in the outbox and hands it to one of our sending
    /// services for one of the contact's addresses, failing over across both; when it is our
    /// turn to rotate, a fresh address of ours goes with it. A message that cannot be
    /// delivered now stays in the outbox (`SendReport.delivered` is false) for `flush`.
    public func send(_ body: [UInt8], to contact: ProtonID) async throws(ProfileError) -> SendReport {
        try await usingOutbox { () throws(ProfileError) in
            let agent = try sendAgent()
            let offers = checkpointOffers()
            return try await ProfileError.classifying {
                try await agent.send(body, to: contact, now: Date(), ignoringBackoff: true, checkpoints: offers)
            }
        }
    }

    /// Tries again what waits in the outbox and whose retry time has come (nothing without a
    /// sending service). A profile whose files were replaced underneath is not written to again.
    public func flush() async throws(ProfileError) -> [DeliveryEvent] {
        try await usingOutbox { () throws(ProfileError) in
            do throws(StoreError) { try store.checkFiles() } catch { throw .store(error) }
            guard !services.sending.isEmpty else { return [] }
            return await (try sendAgent()).flush(now: Date())
        }
    }

    /// Keeps a few addresses registered at our receiving services for offline invites and
    /// replies. Returns why none could be made, if so.
    @discardableResult
    public func replenishSpareAddresses() async -> String? {
        let issuer: AddressIssuer
        do { issuer = try self.issuer() } catch { return error.description }
        return await SpareAddresses.replenish(store: store, issuer: issuer, now: Date())
    }

    /// One round of receiving: every address we gave anyone is polled at its receiving
    /// service (waiting up to `wait` seconds for something to arrive); each message is
    /// recorded with its ratchet step before it is acknowledged. A profile whose files were
    /// replaced underneath is not written to again.
    public func receive(wait: Int = 0) async throws(ProfileError) -> [ReceiveEvent] {
        try await receiving { () throws(ProfileError) in
            do throws(StoreError) { try store.checkFiles() } catch { throw .store(error) }
            let events = await (try receiveAgent()).poll(wait: wait, now: Date())
            return events + (await checkGossipedCheckpoints())
        }
    }

    /// What `events` yields.
    public enum Event: Sendable {
        case received(ReceiveEvent)
        case delivery(DeliveryEvent)
    }

    /// Rounds of `flush` and `receive` until the stream's consumer stops: everything that
    /// happens, as it happens. A round that fails (a service down, a full disk) is yielded as
    /// its events and retried after two seconds; an error that cannot get better (the
    /// profile's files replaced, no receiving service, the profile closed) ends the stream.
    /// `wait` is at least one second, so that a stream never spins.
    public nonisolated func events(wait: Int = 25) -> AsyncThrowingStream<Event, any Error> {
        let wait = max(1, wait)
        return AsyncThrowingStream { continuation in
            let task = Task {
                await self.replenishSpareAddresses()
                while !Task.isCancelled {
                    let events: [ReceiveEvent]
                    do {
                        for event in try await self.flush() { continuation.yield(Event.delivery(event)) }
                        events = try await self.receive(wait: wait)
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                    var failed = false
                    for event in events {
                        continuation.yield(Event.received(event))
                        switch event {
                        case .serviceFailed, .storeFailed: failed = true
                        default: break
                        }
                    }
                    if failed { try? await Task.sleep(for: .seconds(2)) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// What blocking did.
    public struct BlockReport: Sendable {
        /// Our addresses the contact could reach us at, now retired; empty when the contact
        /// was blocked already.
        public let retired: [OwnRoute]
        public let alreadyBlocked: Bool
        /// The services that could not be told, with why; the block holds here regardless.
        public let failures: [(serviceURI: String, error: RelayError?)]
    }

    /// Blocks a contact: every address we gave them is retired at once, here first (nothing
    /// more is read from or sent to them, even if a service cannot be reached) and then at its
    /// receiving service, which answers their deliveries with 410 Gone. No identity changes
    /// and no other relationship is touched.
    public func block(_ contact: ProtonID) async throws(ProfileError) -> BlockReport {
        try checkOpen()
        let now = Date()
        let retired: [OwnRoute]? = try ProfileError.classifying {
            try store.transaction { tx in
                var proton = try tx.proton(contact)
                guard !proton.isBlocked else { return nil }
                let retired = proton.block()
                try tx.updateProton(contact, to: proton, now: now)
                return retired
            }
        }
        guard let retired else { return BlockReport(retired: [], alreadyBlocked: true, failures: []) }
        let mailboxes = Dictionary(services.mailboxes().map { ($0.serviceURI, $0) }, uniquingKeysWith: { first, _ in first })
        var failures: [(serviceURI: String, error: RelayError?)] = []
        for route in retired {
            guard let mailbox = mailboxes[route.route.serviceURI] else {
                failures.append((route.route.serviceURI, nil))
                continue
            }
            do throws(RelayError) { try await mailbox.retire(route.ownedAddress) } catch {
                failures.append((route.route.serviceURI, error))
            }
        }
        return BlockReport(retired: retired, alreadyBlocked: false, failures: failures)
    }

    /// Offers the contact a fresh address of ours now, at the receiving service after the one
    /// in use; it goes with the next message.
    public func rotate(_ contact: ProtonID) async throws(ProfileError) -> OwnRoute {
        let endpoints = try receivingEndpoints()
        guard !endpoints.isEmpty else { throw .agent(.noReceivingService) }
        let now = Date()
        let current = try ProfileError.classifying { try store.proton(contact) }
        guard !current.isBlocked else { throw .relationship(.blocked) }
        let fresh = try await ProfileError.classifying {
            try await AddressIssuer(services: endpoints).createRoute(after: current.ownRoutes.last?.route.serviceURI, now: now)
        }
        do {
            try store.transaction { tx in
                var proton = try tx.proton(contact)
                try proton.issue(fresh.route, authKey: fresh.authKey, now: now)
                try tx.updateProton(contact, to: proton, now: now)
            }
        } catch {
            // Registered but not given to anyone (blocked meanwhile, too many pending updates):
            // kept for a later relationship rather than leaked.
            try? store.addSpareAddress(fresh, now: now)
            throw ProfileError(error)
        }
        return fresh
    }
}
