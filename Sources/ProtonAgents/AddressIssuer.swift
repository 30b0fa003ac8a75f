import Foundation
import ProtonCore
import ProtonCrypto

/// Creates fresh addresses for rotation at our receiving services: a new random address and
/// auth key, registered at the service (proof of possession) before any peer hears of it.
public struct AddressIssuer: Sendable {
    public let services: [ReceivingEndpoint]

    public init(services: [ReceivingEndpoint]) { self.services = services }

    /// A fresh route at one of our services, starting with the one after `previousURI` so that a
    /// relationship's addresses spread across services and one service's outage cuts off only
    /// some of them; the next service is tried when one fails.
    public func createRoute(after previousURI: String?, now: Date) async throws(AgentError) -> OwnRoute {
        guard !services.isEmpty else { throw .noReceivingService }
        let start = previousURI.flatMap { uri in services.firstIndex { $0.serviceURI == uri } }.map { $0 + 1 } ?? 0
        var reasons: [String] = []
        for offset in 0..<services.count {
            let service = services[(start + offset) % services.count]
            let owned = OwnedAddress(random: SystemRandom())
            do throws(RelayError) {
                try await service.mailbox.createAddress(owned)
                let route: Route
                do { route = try Route(serviceURI: service.serviceURI, serviceKey: service.publicKey, address: owned.id) } catch {
                    throw RelayError.rejected(status: 0, reason: "its URI cannot be part of a route")
                }
                return OwnRoute(route: route, authKey: owned.authKey, issuedAt: now)
            } catch {
                reasons.append("\(service.serviceURI): \(error)")
            }
        }
        throw .noAddressCreated(reason: reasons.joined(separator: "; "))
    }
}
