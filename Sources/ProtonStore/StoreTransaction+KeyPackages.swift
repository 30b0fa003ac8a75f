import Foundation
import GRDB
import ProtonCore
import ProtonCrypto

/// Key packages we published at brokered directories, inside one transaction.
extension StoreTransaction {
    /// Stores a key package we are about to publish, with its private prekeys and the auth key
    /// of its first-contact address (sealed like every other secret).
    @discardableResult
    /// A hybrid package's ML-KEM keys come as `kemPrekey` (the last-resort one) and
    /// `oneTimeKEMPrekeys` (one per one-time prekey, in order).
    public func insertPublishedKeyPackage(
        personaID: PersonaID, name: String, package: KeyPackage, signedPrekey: X25519.PrivateKey,
        oneTimePrekeys: [X25519.PrivateKey], kemPrekey: MLKEM.PrivateKey? = nil, oneTimeKEMPrekeys: [MLKEM.PrivateKey] = [],
        route: OwnRoute, now: Date
    ) throws -> KeyPackageID {
        // Entry by entry: a hybrid package has an ML-KEM key with every one-time prekey, a
        // classical one with none.
        let kemKeys = package.oneTimePrekeys.map(\.kem?.key)
        let kemKeysMatch =
            package.isHybrid
            ? oneTimeKEMPrekeys.count == kemKeys.count && zip(oneTimeKEMPrekeys, kemKeys).allSatisfy { pair in pair.0.publicKey == pair.1 }
            : oneTimeKEMPrekeys.isEmpty && kemKeys.allSatisfy { key in key == nil }
        guard signedPrekey.publicKey == package.signedPrekey, package.route == route.route,
            oneTimePrekeys.map(\.publicKey) == package.oneTimePrekeys.map(\.prekey),
            kemPrekey?.publicKey == package.kemPrekey, kemKeysMatch
        else { throw KeyPackageError.prekeyMismatch }
        try requirePersona(personaID, identityKey: package.identityKey)
        let id = KeyPackageID.random()
        try KeyPackageRecord(
            id: id.rawValue, personaID: personaID.rawValue, name: name, signedPrekey: Data(package.signedPrekey.rawRepresentation),
            signedPrekeySecret: sealer.seal(signedPrekey.secretBytes, .keyPackagePrekey, row: id.rawValue),
            serviceURI: route.route.serviceURI, serviceKey: Data(route.route.serviceKey.rawRepresentation),
            address: route.address.hex, authSeed: sealer.seal(route.authKey.seedBytes, .keyPackageAuthSeed, row: id.rawValue),
            package: Data(package.encoded()), expires: package.expires, created: now,
            kemSeed: kemPrekey.map { sealer.seal($0.seed, .keyPackageKEMSeed, row: id.rawValue) }
        ).insert(db)
        for (index, prekey) in oneTimePrekeys.enumerated() {
            let publicKey = Data(prekey.publicKey.rawRepresentation)
            let row = publicKey.base64EncodedString()
            try OneTimePrekeyRecord(
                prekey: publicKey, keyPackageID: id.rawValue, secret: sealer.seal(prekey.secretBytes, .oneTimePrekey, row: row), used: nil,
                protonID: nil,
                kemSeed: oneTimeKEMPrekeys.isEmpty ? nil : sealer.seal(oneTimeKEMPrekeys[index].seed, .oneTimeKEMSeed, row: row)
            ).insert(db)
        }
        return id
    }

    /// Our key package whose first-contact address this is.
    public func publishedKeyPackage(at address: AddressID) throws -> PublishedKeyPackage? {
        try KeyPackageRecord.filter(KeyPackageRecord.Columns.address == address.hex).fetchOne(db)
            .map { try Self.publishedKeyPackage(from: $0, sealer: sealer) }
    }

    /// The private prekeys an initial message to key package `id` names: the signed prekey, and
    /// the one-time prekey when it names one; for a hybrid package, the ML-KEM key it must have
    /// encapsulated to (the one-time prekey's when it names one, else the last-resort one). A
    /// used or unknown one-time prekey is refused.
    public func keyPackagePrekeys(_ id: KeyPackageID, signed: X25519.PublicKey, oneTime: X25519.PublicKey?) throws -> (
        signed: X25519.PrivateKey, oneTime: X25519.PrivateKey?, kem: [MLKEM.PrivateKey]
    ) {
        guard let record = try KeyPackageRecord.fetchOne(db, key: id.rawValue) else { throw KeyPackageError.unknownKeyPackage }
        guard Array(record.signedPrekey) == signed.rawRepresentation else { throw KeyPackageError.prekeyMismatch }
        let signedKey = try sealer.openAgreementKey(
            record.signedPrekeySecret, .keyPackagePrekey, row: record.id, what: "signed prekey of key package \(record.id)")
        guard signedKey.publicKey == signed else { throw StoreError.corrupt(what: "signed prekey of key package \(record.id)") }
        let lastResort = try record.kemSeed.map {
            try sealer.openKEMKey($0, .keyPackageKEMSeed, row: record.id, what: "KEM prekey of key package \(record.id)")
        }
        guard let oneTime else { return (signedKey, nil, lastResort.map { [$0] } ?? []) }
        let publicKey = Data(oneTime.rawRepresentation)
        guard let otp = try OneTimePrekeyRecord.fetchOne(db, key: publicKey), otp.keyPackageID == record.id else {
            throw KeyPackageError.prekeyMismatch
        }
        if let used = otp.used { throw KeyPackageError.oneTimePrekeyUsed(used) }
        guard let sealed = otp.secret else { throw StoreError.corrupt(what: "one-time prekey of key package \(record.id)") }
        let oneTimeKey = try sealer.openAgreementKey(
            sealed, .oneTimePrekey, row: publicKey.base64EncodedString(), what: "one-time prekey of key package \(record.id)")
        guard oneTimeKey.publicKey == oneTime else { throw StoreError.corrupt(what: "one-time prekey of key package \(record.id)") }
        let oneTimeKEM = try otp.kemSeed.map {
            try sealer.openKEMKey($0, .oneTimeKEMSeed, row: publicKey.base64EncodedString(), what: "one-time KEM prekey of key package \(record.id)")
        }
        return (signedKey, oneTimeKey, [oneTimeKEM ?? lastResort].compactMap { $0 })
    }

    /// Whether a hybrid key package for `name` was published after `date`: a classical package
    /// of that name is then superseded, and a start from it (which a directory could keep
    /// serving) would be a downgrade.
    public func hybridKeyPackagePublished(for name: String, after date: Date) throws -> Bool {
        try KeyPackageRecord.filter(Column("name") == name && Column("kem_seed") != nil && KeyPackageRecord.Columns.created > date).fetchCount(db) > 0
    }

    /// Marks a one-time prekey used by the relationship it started and erases its private key
    /// (X3DH section 3.3: the responder deletes it, for the first message's forward secrecy).
    public func consumeOneTimePrekey(_ prekey: X25519.PublicKey, protonID: ProtonID?, now: Date) throws {
        guard var record = try OneTimePrekeyRecord.fetchOne(db, key: Data(prekey.rawRepresentation)) else {
            throw KeyPackageError.prekeyMismatch
        }
        if let used = record.used { throw KeyPackageError.oneTimePrekeyUsed(used) }
        record.used = now
        record.secret = nil
        record.kemSeed = nil
        record.protonID = protonID?.rawValue
        try record.update(db)
    }

    /// From the row's columns alone: the receive agent reads every package each round, and the
    /// stored package itself (signed, with its one-time prekeys) is only a record of what was published.
    static func publishedKeyPackage(from record: KeyPackageRecord, sealer: SecretSealer) throws -> PublishedKeyPackage {
        let what = "address key of key package \(record.id)"
        let route = try ownRoute(
            serviceURI: record.serviceURI, serviceKey: record.serviceKey, address: record.address,
            authKey: sealer.openSigningKey(record.authSeed, .keyPackageAuthSeed, row: record.id, what: what), issuedAt: record.created,
            what: what)
        return PublishedKeyPackage(
            id: KeyPackageID(rawValue: record.id), personaID: PersonaID(rawValue: record.personaID), name: record.name, route: route,
            expires: record.expires, created: record.created)
    }
}

/// Key packages, one transaction per call.
extension ProfileStore {
    /// Our key packages not yet deleted, newest first.
    public func publishedKeyPackages() throws -> [PublishedKeyPackage] {
        let sealer = self.sealer
        return try read { db in
            try KeyPackageRecord.order(KeyPackageRecord.Columns.created.desc).fetchAll(db)
                .map { try StoreTransaction.publishedKeyPackage(from: $0, sealer: sealer) }
        }
    }

    /// How many of a key package's one-time prekeys are still unused.
    public func unusedOneTimePrekeys(_ id: KeyPackageID) throws -> Int {
        try read { db in
            try OneTimePrekeyRecord.filter(OneTimePrekeyRecord.Columns.keyPackageID == id.rawValue && OneTimePrekeyRecord.Columns.used == nil)
                .fetchCount(db)
        }
    }

    /// Deletes one key package with its secrets (a publication that failed) and returns its route.
    @discardableResult
    public func removeKeyPackage(_ id: KeyPackageID) throws -> OwnRoute? {
        try transaction { tx in
            guard let record = try KeyPackageRecord.fetchOne(tx.db, key: id.rawValue) else { return nil }
            let route = try StoreTransaction.publishedKeyPackage(from: record, sealer: tx.sealer).route
            _ = try KeyPackageRecord.deleteOne(tx.db, key: id.rawValue)
            return route
        }
    }

    /// Deletes key packages that expired before `cutoff`, secrets included, and returns their
    /// routes so that the caller can retire the addresses at their services.
    public func removeExpiredKeyPackages(before cutoff: Date) throws -> [OwnRoute] {
        let expired = KeyPackageRecord.filter(KeyPackageRecord.Columns.expires < cutoff)
        guard try read({ try !expired.isEmpty($0) }) else { return [] }
        return try transaction { tx in
            var routes: [OwnRoute] = []
            for record in try expired.fetchAll(tx.db) {
                routes.append(try StoreTransaction.publishedKeyPackage(from: record, sealer: tx.sealer).route)
                _ = try KeyPackageRecord.deleteOne(tx.db, key: record.id)
            }
            return routes
        }
    }
}
