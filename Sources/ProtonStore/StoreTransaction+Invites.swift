import Foundation
import GRDB
import ProtonCore
import ProtonCrypto

/// Invites we printed, invites we accepted, and spare addresses, inside one transaction.
extension StoreTransaction {
    // MARK: - Invites we printed

    /// Stores an invite we are about to show, with the prekey's private key and the route's
    /// auth key (sealed like every other secret).
    @discardableResult
    public func insertPendingInvite(
        personaID: PersonaID, invite: Invite, prekey: X25519.PrivateKey, route: OwnRoute, now: Date
    ) throws -> InviteID {
        guard prekey.publicKey == invite.prekey, route.route == invite.route else { throw InviteError.prekeyMismatch }
        try requirePersona(personaID, identityKey: invite.identityKey)
        let id = InviteID.random()
        try PendingInviteRecord(
            id: id.rawValue, personaID: personaID.rawValue, prekey: Data(invite.prekey.rawRepresentation),
            prekeySecret: sealer.seal(prekey.secretBytes, .invitePrekey, row: id.rawValue),
            serviceURI: route.route.serviceURI, serviceKey: Data(route.route.serviceKey.rawRepresentation),
            address: route.address.hex, authSeed: sealer.seal(route.authKey.seedBytes, .inviteAuthSeed, row: id.rawValue),
            invite: Data(invite.encoded()), expires: invite.expires, created: now, used: nil, protonID: nil
        ).insert(db)
        return id
    }

    /// The invite of ours whose address this is, used or not.
    public func pendingInvite(at address: AddressID) throws -> PendingInvite? {
        try PendingInviteRecord.filter(PendingInviteRecord.Columns.address == address.hex).fetchOne(db)
            .map { try Self.pendingInvite(from: $0, sealer: sealer) }
    }

    /// The invite of ours with this prekey, used or not.
    public func pendingInvite(prekey: X25519.PublicKey) throws -> PendingInvite? {
        try PendingInviteRecord.filter(PendingInviteRecord.Columns.prekey == Data(prekey.rawRepresentation)).fetchOne(db)
            .map { try Self.pendingInvite(from: $0, sealer: sealer) }
    }

    /// The private prekey of an unused invite; an used one has none left.
    public func invitePrekey(_ id: InviteID) throws -> X25519.PrivateKey {
        guard let record = try PendingInviteRecord.fetchOne(db, key: id.rawValue) else { throw InviteError.unknownInvite }
        if let used = record.used { throw InviteError.alreadyUsed(used) }
        guard let sealed = record.prekeySecret else { throw StoreError.corrupt(what: "prekey of invite \(record.id)") }
        let key = try sealer.openAgreementKey(sealed, .invitePrekey, row: record.id, what: "prekey of invite \(record.id)")
        guard Array(record.prekey) == key.publicKey.rawRepresentation else { throw InviteError.prekeyMismatch }
        return key
    }

    /// Marks an invite used by the relationship it started and erases its secrets: the
    /// prekey's private key (forward secrecy for the first message) and the address's auth key,
    /// which lives on in that relationship's proton. A second use is refused.
    public func consumeInvite(_ id: InviteID, protonID: ProtonID?, now: Date) throws {
        guard var record = try PendingInviteRecord.fetchOne(db, key: id.rawValue) else { throw InviteError.unknownInvite }
        if let used = record.used { throw InviteError.alreadyUsed(used) }
        record.used = now
        record.protonID = protonID?.rawValue
        record.prekeySecret = nil
        record.authSeed = nil
        try record.update(db)
    }

    static func pendingInvite(from record: PendingInviteRecord, sealer: SecretSealer) throws -> PendingInvite {
        let invite: Invite
        do { invite = try Invite(decoding: Array(record.invite)) } catch {
            throw StoreError.corrupt(what: "invite \(record.id)")
        }
        var route: OwnRoute?
        if record.used == nil {
            guard let sealed = record.authSeed else { throw StoreError.corrupt(what: "address key of invite \(record.id)") }
            let key = try sealer.openSigningKey(sealed, .inviteAuthSeed, row: record.id, what: "address key of invite \(record.id)")
            route = OwnRoute(route: invite.route, authKey: key, issuedAt: record.created)
        }
        return PendingInvite(
            id: InviteID(rawValue: record.id), personaID: PersonaID(rawValue: record.personaID), invite: invite, route: route,
            created: record.created, used: record.used, protonID: record.protonID.map { ProtonID(rawValue: $0) })
    }

    // MARK: - Invites we accepted

    /// When we accepted the invite with this prekey, if we did.
    public func acceptedInvite(prekey: X25519.PublicKey) throws -> Date? {
        try AcceptedInviteRecord.fetchOne(db, key: Data(prekey.rawRepresentation))?.accepted
    }

    /// Records that we accepted an invite; refuses one accepted before.
    public func recordAcceptedInvite(_ invite: Invite, protonID: ProtonID, now: Date) throws {
        if let accepted = try acceptedInvite(prekey: invite.prekey) { throw InviteError.alreadyAccepted(accepted) }
        try AcceptedInviteRecord(prekey: Data(invite.prekey.rawRepresentation), protonID: protonID.rawValue, accepted: now)
            .insert(db)
    }

    // MARK: - Spare addresses

    /// Keeps an address already registered at one of our receiving services for later.
    public func insertSpareAddress(_ route: OwnRoute, now: Date) throws {
        var record = SpareAddressRecord(
            id: nil, serviceURI: route.route.serviceURI, serviceKey: Data(route.route.serviceKey.rawRepresentation),
            address: route.address.hex, authSeed: Data(), created: now)
        record.authSeed = sealer.seal(route.authKey.seedBytes, .spareAuthSeed, row: route.address.hex)
        try record.insert(db)
    }

    /// Takes the oldest spare address (it is no longer spare once this transaction commits).
    public func takeSpareAddress(now: Date) throws -> OwnRoute? {
        guard let record = try SpareAddressRecord.order(SpareAddressRecord.Columns.id).fetchOne(db) else { return nil }
        let route = try Self.spareRoute(from: record, sealer: sealer, issuedAt: now)
        _ = try SpareAddressRecord.deleteOne(db, key: record.id)
        return route
    }

    static func spareRoute(from record: SpareAddressRecord, sealer: SecretSealer, issuedAt: Date) throws -> OwnRoute {
        let what = "spare address \(record.address)"
        return try ownRoute(
            serviceURI: record.serviceURI, serviceKey: record.serviceKey, address: record.address,
            authKey: sealer.openSigningKey(record.authSeed, .spareAuthSeed, row: record.address, what: what), issuedAt: issuedAt, what: what)
    }

    /// A route of ours from a row's service and address columns and its opened auth key.
    static func ownRoute(serviceURI: String, serviceKey: Data, address: String, authKey: Ed25519.PrivateKey, issuedAt: Date, what: String) throws
        -> OwnRoute
    {
        guard let address = try? AddressID(hex: address),
            let serviceKey = try? SealedBox.PublicKey(rawRepresentation: Array(serviceKey)),
            let route = try? Route(serviceURI: serviceURI, serviceKey: serviceKey, address: address)
        else { throw StoreError.corrupt(what: what) }
        return OwnRoute(route: route, authKey: authKey, issuedAt: issuedAt)
    }
}
