import Foundation
import ProtonCore
import ProtonStore

/// The initiator's side of a start through the agents (an invite accepted, a name connected
/// to through a brokered directory): a fresh address of ours for the peer, the new proton
/// stored with its first message and that message queued in one transaction, then one
/// delivery attempt through the send agent. The peer's receive agent completes the
/// relationship (`ResponderStart`).
public struct InitiatorStart {
    public let store: ProfileStore
    public let sender: SendAgent
    public let issuer: AddressIssuer

    public init(store: ProfileStore, sender: SendAgent, issuer: AddressIssuer) {
        self.store = store
        self.sender = sender
        self.issuer = issuer
    }

    public struct Started: Sendable {
        public let proton: Proton
        public let protonID: ProtonID
        /// Why the first message is not delivered yet (it waits in the outbox, and the next
        /// flush retries it); nil when it is.
        public let notDelivered: String?

        public var delivered: Bool { notDelivered == nil }
    }

    /// `initiate` makes the proton and its initial message with the fresh route; `record` adds
    /// its own rows to the same transaction. When either fails nothing is stored, the address
    /// goes back to the spares, and the error goes through `failure`. A fresh address that
    /// cannot be made throws the receiving services' error (`RelayError`, `AgentError`).
    public func run(
        personaID: PersonaID, body: [UInt8], now: Date, initiate: (OwnRoute) throws -> (Proton, InitialMessage),
        record: (StoreTransaction, ProtonID) throws -> Void = { _, _ in }, failure: (any Error) -> any Error = { $0 }
    ) async throws -> Started {
        let route = try await issuer.createRoute(after: nil, now: now)
        let proton: Proton
        let protonID: ProtonID
        do {
            let (started, initial) = try initiate(route)
            proton = started
            protonID = try store.transaction { tx in
                let id = try tx.insertProton(started, personaID: personaID, now: now)
                let routes = started.sendingRoutes
                let messageID = try tx.appendMessage(
                    protonID: id, direction: .outgoing, body: body, address: routes.first?.address.hex, timestamp: now)
                try tx.enqueue(protonID: id, messageID: messageID, ciphertext: initial.encoded(), routes: routes, now: now)
                try record(tx, id)
                return id
            }
        } catch {
            try? store.addSpareAddress(route, now: now)
            throw failure(error)
        }
        let events = await sender.flush(now: now, protonID: protonID, ignoringBackoff: true)
        let delivered = events.contains { if case .delivered = $0 { true } else { false } }
        await SpareAddresses.replenish(store: store, issuer: issuer, now: now)
        let reason = events.compactMap { event -> String? in
            if case .deferred(_, _, _, let reason) = event { reason } else { nil }
        }.last ?? "no route answered"
        return Started(proton: proton, protonID: protonID, notDelivered: delivered ? nil : reason)
    }
}
