import Foundation
import ProtonAgents
import ProtonCore
import ProtonStore

/// The initiator's side of a start through the agents (`proton accept`, `proton connect`): a
/// fresh address of ours for the peer, the new proton stored with its first message and that
/// message queued in one transaction, then one delivery attempt through the send agent. The
/// peer's receive agent completes the relationship.
struct InitiatorStart {
    let store: ProfileStore
    let sender: SendAgent
    let issuer: AddressIssuer

    init(context: AgentContext) throws {
        store = context.store
        sender = try context.sendAgent()
        issuer = AddressIssuer(services: try context.receivingEndpoints())
    }

    struct Started {
        let proton: Proton
        let protonID: ProtonID
        /// Why the first message is not delivered yet; nil when it is.
        let notDelivered: String?

        var delivered: Bool { notDelivered == nil }

        /// Stored, but the first message waits in the outbox (exit 75).
        func undeliveredFailure() -> CommandFailure? {
            guard let notDelivered else { return nil }
            return CommandFailure(
                status: .temporaryFailure,
                message: "The relationship is stored but your first message is not delivered yet (\(notDelivered)); "
                    + "the next 'proton send' or 'proton receive' retries it.")
        }
    }

    /// `initiate` makes the proton and its initial message with the fresh route; `record` adds
    /// its own rows to the same transaction. When either fails nothing is stored, the address
    /// goes back to the spares, and the error goes through `failure`.
    func run(
        personaID: PersonaID, body: [UInt8], now: Date, initiate: (OwnRoute) throws -> (Proton, InitialMessage),
        record: (StoreTransaction, ProtonID) throws -> Void = { _, _ in }, failure: (any Error) -> any Error
    ) async throws -> Started {
        let route = try await CommandFailure.mapping { try await issuer.createRoute(after: nil, now: now) }
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
