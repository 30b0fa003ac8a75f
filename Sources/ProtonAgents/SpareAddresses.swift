import Foundation
import ProtonCore
import ProtonStore

/// Addresses registered at our receiving services ahead of need. An offline exchange (a reply
/// QR, or an inviter completing one) cannot register an address, and an address must be
/// registered before anyone is told of it — a delivery to an unknown address is refused for
/// good. So the online commands keep a few in the profile, and the offline ones take from them.
public enum SpareAddresses {
    /// Enough for a couple of offline exchanges between two online runs.
    public static let defaultCount = 3

    /// Registers fresh addresses until the profile holds `count`; returns why it could not,
    /// if it could not (the caller goes on: spares are for later).
    @discardableResult
    public static func replenish(store: ProfileStore, issuer: AddressIssuer, count: Int = defaultCount, now: Date) async -> String? {
        guard !issuer.services.isEmpty else { return nil }
        do {
            var held = try store.spareAddressCounts().values.reduce(0, +)
            var previous: String?
            while held < count {
                let route = try await issuer.createRoute(after: previous, now: now)
                try store.addSpareAddress(route, now: now)
                previous = route.route.serviceURI
                held += 1
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
