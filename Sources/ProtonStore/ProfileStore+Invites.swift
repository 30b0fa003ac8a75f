import Foundation
import GRDB
import ProtonCore
import ProtonCrypto

/// Invites and spare addresses, one transaction per call; see `StoreTransaction` for the steps
/// that must be atomic with a new proton.
extension ProfileStore {
    @discardableResult
    public func addPendingInvite(
        personaID: PersonaID, invite: Invite, prekey: X25519.PrivateKey, route: OwnRoute, now: Date = Date()
    ) throws -> InviteID {
        try transaction { try $0.insertPendingInvite(personaID: personaID, invite: invite, prekey: prekey, route: route, now: now) }
    }

    /// Our invites, newest first; used ones only when asked.
    public func pendingInvites(includingUsed: Bool = false) throws -> [PendingInvite] {
        let sealer = self.sealer
        return try read { db in
            var request = PendingInviteRecord.order(PendingInviteRecord.Columns.created.desc)
            if !includingUsed { request = request.filter(PendingInviteRecord.Columns.used == nil) }
            return try request.fetchAll(db).map { try StoreTransaction.pendingInvite(from: $0, sealer: sealer) }
        }
    }

    /// Deletes unused invites that expired before `cutoff` (secrets included) and returns
    /// their routes, so that the caller can retire the addresses at their services.
    public func removeExpiredInvites(before cutoff: Date) throws -> [OwnRoute] {
        // Called on every receive round: a read first, so that the usual case writes nothing.
        let expired = PendingInviteRecord.filter(PendingInviteRecord.Columns.used == nil && PendingInviteRecord.Columns.expires < cutoff)
        guard try read({ try !expired.isEmpty($0) }) else { return [] }
        return try transaction { tx in
            let records = try expired.fetchAll(tx.db)
            var routes: [OwnRoute] = []
            for record in records {
                if let route = try StoreTransaction.pendingInvite(from: record, sealer: tx.sealer).route { routes.append(route) }
                _ = try PendingInviteRecord.deleteOne(tx.db, key: record.id)
            }
            return routes
        }
    }

    public func acceptedInvite(prekey: X25519.PublicKey) throws -> Date? {
        try read { try AcceptedInviteRecord.fetchOne($0, key: Data(prekey.rawRepresentation))?.accepted }
    }

    public func addSpareAddress(_ route: OwnRoute, now: Date = Date()) throws {
        try transaction { try $0.insertSpareAddress(route, now: now) }
    }

    /// How many spare addresses are registered at each service.
    public func spareAddressCounts() throws -> [String: Int] {
        try read { db in
            try SpareAddressRecord.fetchAll(db).reduce(into: [String: Int]()) { $0[$1.serviceURI, default: 0] += 1 }
        }
    }
}
