import Foundation
import ProtonAgents
import ProtonCore
import ProtonStore

/// What the agent commands share: the opened profile, its services.json, and agents built
/// from them.
struct AgentContext {
    let store: ProfileStore
    let services: ServicesConfiguration

    init(profile: ProfileOptions) throws {
        store = try profile.openStore()
        do {
            services = try ServicesConfiguration.load(from: store.directory)
        } catch {
            try? store.close()
            throw CommandFailure(error)
        }
    }

    func close() { try? store.close() }

    /// The send agent over our sending services; refuses when none is configured.
    func sendAgent() throws -> SendAgent {
        guard !services.sending.isEmpty else { throw CommandFailure(AgentError.noSendingService) }
        return SendAgent(store: store, relays: services.relays(), receivingServices: try receivingEndpoints())
    }

    /// The receive agent over our receiving services; refuses when none is configured.
    func receiveAgent() throws -> ReceiveAgent {
        guard !services.receiving.isEmpty else { throw CommandFailure(AgentError.noReceivingService) }
        do {
            return try ReceiveAgent(store: store, services: services.mailboxes(), stateDirectory: store.directory)
        } catch {
            throw CommandFailure(error)
        }
    }

    func receivingEndpoints() throws -> [ReceivingEndpoint] {
        do { return try services.receivingEndpoints() } catch { throw CommandFailure(error) }
    }
}

extension InitiatorStart {
    init(context: AgentContext) throws {
        self.init(store: context.store, sender: try context.sendAgent(), issuer: AddressIssuer(services: try context.receivingEndpoints()))
    }
}

extension InitiatorStart.Started {
    /// Stored, but the first message waits in the outbox (exit 75).
    func undeliveredFailure() -> CommandFailure? {
        guard let notDelivered else { return nil }
        return CommandFailure(
            status: .temporaryFailure,
            message: "The relationship is stored but your first message is not delivered yet (\(notDelivered)); "
                + "the next 'proton send' or 'proton receive' retries it.")
    }
}
