import Foundation
import GRDB
import ProtonCore
import ProtonCrypto

/// The store's operations inside one write transaction (`ProfileStore.transaction`): what the
/// body writes commits together, or — if the body throws — not at all.
///
/// Load a proton, step it, and record the step and its message in one transaction, so that
/// another process cannot step the same proton in between and a crash cannot separate a
/// ratchet step from the message it produced or consumed.
public struct StoreTransaction {
    let db: Database
    let sealer: SecretSealer

    // MARK: - Personas

    public func persona(_ id: PersonaID) throws -> Persona {
        guard let record = try PersonaRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.unknownPersona(id) }
        return try Self.persona(from: record, sealer: sealer)
    }

    @discardableResult
    public func insertPersona(_ persona: Persona, now: Date) throws -> PersonaID {
        let id = PersonaID.random()
        try PersonaRecord(
            id: id.rawValue, displayName: persona.displayName,
            identityKey: Data(persona.publicIdentity.rawRepresentation),
            identitySeed: sealer.seal(persona.identityKey.seedBytes, .identitySeed, row: id.rawValue),
            created: now
        ).insert(db)
        return id
    }

    static func persona(from record: PersonaRecord, sealer: SecretSealer) throws -> Persona {
        var seed = try sealer.open(record.identitySeed, .identitySeed, row: record.id)
        defer { seed.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        do {
            let key = try Ed25519.PrivateKey(seed: &seed)
            guard key.publicKey.rawRepresentation == Array(record.identityKey) else {
                throw StoreError.corrupt(what: "identity key of persona \(record.id)")
            }
            // A name stored before the display-name rules tightened loads without what they refuse.
            return try Persona(displayName: Persona.neutralised(record.displayName), identityKey: key)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.corrupt(what: "identity key of persona \(record.id)")
        }
    }

    /// Refuses an unknown persona, or one whose identity key is not `identityKey`: what is
    /// stored for a persona must be that persona's.
    func requirePersona(_ personaID: PersonaID, identityKey: Ed25519.PublicKey) throws {
        guard let persona = try PersonaRecord.fetchOne(db, key: personaID.rawValue) else {
            throw StoreError.unknownPersona(personaID)
        }
        guard Array(persona.identityKey) == identityKey.rawRepresentation else { throw StoreError.personaMismatch(personaID) }
    }

    // MARK: - Protons

    /// Stores a new proton for `personaID`, which must be the persona whose identity it holds.
    public func insertProton(_ proton: Proton, personaID: PersonaID, now: Date) throws -> ProtonID {
        try requirePersona(personaID, identityKey: proton.ourIdentity)
        let relationshipID = proton.relationshipID
        guard try ProtonRecord.filter(ProtonRecord.Columns.relationshipID == relationshipID).isEmpty(db) else {
            throw StoreError.duplicateRelationship(relationshipID: relationshipID)
        }
        let id = ProtonID.random()
        let state = sealer.seal(proton.serializedState(), .protonState, row: id.rawValue)
        try ProtonRecord(
            id: id.rawValue, personaID: personaID.rawValue, peerIdentity: Data(proton.peerIdentity.rawRepresentation),
            peerDisplayName: proton.peerDisplayName, relationshipID: relationshipID,
            state: state, stateDigest: ProtonRecord.digest(id: id.rawValue, state: state), created: now, updated: now
        ).insert(db)
        try replaceSkippedKeys(of: id, with: proton.skippedKeys)
        return id
    }

    /// Loads a proton with its skipped message keys.
    public func proton(_ id: ProtonID) throws -> Proton {
        guard let record = try ProtonRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.unknownProton(id) }
        return try Self.proton(from: record, db: db, sealer: sealer)
    }

    static func proton(from record: ProtonRecord, db: Database, sealer: SecretSealer) throws -> Proton {
        if let digest = record.stateDigest, digest != ProtonRecord.digest(id: record.id, state: record.state) {
            throw StoreError.corrupt(what: "state of proton \(record.id) (its checksum does not match: the file was damaged or edited)")
        }
        let state = try sealer.openSecret(record.state, .protonState, row: record.id)
        let skipped = try SkippedKeyRecord
            .filter(SkippedKeyRecord.Columns.protonID == record.id)
            .order(SkippedKeyRecord.Columns.id)
            .fetchAll(db)
            .map { row throws(StoreError) in
                SkippedMessageKey(
                    headerKey: try sealer.openSecret(row.headerKey, .skippedHeaderKey, row: record.id),
                    messageNumber: UInt32(clamping: row.messageNumber),
                    messageKey: try sealer.openSecret(row.messageKey, .skippedMessageKey, row: record.id),
                    storedAt: row.storedAt)
            }
        do {
            return try Proton(serializedState: state, skippedKeys: skipped)
        } catch {
            throw StoreError.corrupt(what: "state of proton \(record.id)")
        }
    }

    /// Replaces a stored proton's state and skipped keys with `proton`'s.
    public func updateProton(_ id: ProtonID, to proton: Proton, now: Date) throws {
        guard var record = try ProtonRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.unknownProton(id) }
        guard Array(record.peerIdentity) == proton.peerIdentity.rawRepresentation,
            record.relationshipID == proton.relationshipID
        else { throw StoreError.protonMismatch(id) }
        record.state = sealer.seal(proton.serializedState(), .protonState, row: id.rawValue)
        record.stateDigest = ProtonRecord.digest(id: id.rawValue, state: record.state)
        record.peerDisplayName = proton.peerDisplayName
        record.updated = now
        try record.update(db)
        try replaceSkippedKeys(of: id, with: proton.skippedKeys)
    }

    public func deleteProton(_ id: ProtonID) throws {
        guard try ProtonRecord.deleteOne(db, key: id.rawValue) else { throw StoreError.unknownProton(id) }
    }

    private func replaceSkippedKeys(of id: ProtonID, with keys: [SkippedMessageKey]) throws {
        try SkippedKeyRecord.filter(SkippedKeyRecord.Columns.protonID == id.rawValue).deleteAll(db)
        for key in keys {
            var record = SkippedKeyRecord(
                id: nil, protonID: id.rawValue,
                headerKey: sealer.seal(key.headerKey, .skippedHeaderKey, row: id.rawValue),
                messageNumber: Int64(key.messageNumber),
                messageKey: sealer.seal(key.messageKey, .skippedMessageKey, row: id.rawValue),
                storedAt: key.storedAt)
            try record.insert(db)
        }
    }

    // MARK: - Messages and outbox

    /// Appends a message to the log and returns its id: shown at the end of the log, or held
    /// (not shown until `show` gives it a position).
    @discardableResult
    public func appendMessage(
        protonID: ProtonID, direction: StoredMessage.Direction, body: [UInt8], address: String?, timestamp: Date,
        sequence: UInt64? = nil, held: Bool = false
    ) throws -> Int64 {
        var record = MessageRecord(
            id: nil, protonID: protonID.rawValue, direction: direction.rawValue,
            body: sealer.seal(body, .messageBody, row: protonID.rawValue), address: address, timestamp: timestamp,
            sequence: sequence.map { Int64(clamping: $0) }, held: held, position: held ? nil : try nextPosition())
        try record.insert(db)
        return record.id!
    }

    private func nextPosition() throws -> Int64 {
        (try Int64.fetchOne(db, sql: "SELECT MAX(position) FROM messages") ?? 0) + 1
    }

    /// Shows a held message: it takes the next position in the log.
    private func show(_ messageID: Int64) throws {
        try db.execute(sql: "UPDATE messages SET held = 0, position = ? WHERE id = ?", arguments: [try nextPosition(), messageID])
    }

    /// Queues a ciphertext for the send agent and returns the outbox id.
    @discardableResult
    public func enqueue(protonID: ProtonID, messageID: Int64?, ciphertext: [UInt8], routes: [Route], now: Date) throws -> Int64 {
        var record = OutboxRecord(
            id: nil, protonID: protonID.rawValue, messageID: messageID, ciphertext: Data(ciphertext),
            routes: sealer.seal(RouteList.encode(routes), .outboxRoutes, row: protonID.rawValue),
            created: now, attempts: 0, lastAttempt: nil)
        try record.insert(db)
        return record.id!
    }

    /// One sending step: the proton as `seal` left it, the message in the log, and its
    /// ciphertext in the outbox.
    @discardableResult
    public func recordOutgoing(
        protonID: ProtonID, updated proton: Proton, body: [UInt8], ciphertext: [UInt8], routes: [Route], now: Date
    ) throws -> (messageID: Int64, outboxID: Int64) {
        try updateProton(protonID, to: proton, now: now)
        let messageID = try appendMessage(
            protonID: protonID, direction: .outgoing, body: body, address: routes.first?.address.hex, timestamp: now)
        let outboxID = try enqueue(protonID: protonID, messageID: messageID, ciphertext: ciphertext, routes: routes, now: now)
        return (messageID, outboxID)
    }

    /// One receiving step: the proton as `open` left it (skipped keys included) and the
    /// message, in one transaction. The message is shown at once if it is the sender's next
    /// (then so are the held ones it was the gap before), held if it overtook an earlier one,
    /// and shown as late if its gap was already given up on. Returns what is shown now, in order.
    @discardableResult
    public func recordIncoming(
        protonID: ProtonID, updated proton: Proton, body: [UInt8], address: AddressID, sequence: UInt64, now: Date
    ) throws -> [ShownMessage] {
        var proton = proton
        let arrival = proton.arrival(of: sequence)
        let held = if case .ahead = arrival { true } else { false }
        let id = try appendMessage(
            protonID: protonID, direction: .incoming, body: body, address: address.hex, timestamp: now, sequence: sequence, held: held)
        var shown: [ShownMessage] = []
        switch arrival {
        case .ahead:
            break
        case .late:
            shown.append(ShownMessage(id: id, sequence: sequence, body: body, address: address, late: true))
        case .next:
            shown.append(ShownMessage(id: id, sequence: sequence, body: body, address: address))
            proton.markPresented(through: sequence)
            shown += try showHeld(protonID, of: &proton, upTo: nil)
        }
        try updateProton(protonID, to: proton, now: now)
        return shown
    }

    func showOverdueHeldMessages(heldBefore: Date, maximumHeld: Int, now: Date) throws -> [(ProtonID, [ShownMessage])] {
        let rows = try Row.fetchAll(
            db, sql: "SELECT proton_id, MIN(timestamp) AS oldest, COUNT(*) AS n, MAX(sequence) AS last FROM messages WHERE held = 1 GROUP BY proton_id")
        var shown: [(ProtonID, [ShownMessage])] = []
        for row in rows {
            let oldest: Date = row["oldest"]
            let count: Int = row["n"]
            let last: Int64 = row["last"]
            guard oldest < heldBefore || count > maximumHeld else { continue }
            let protonID = ProtonID(rawValue: row["proton_id"])
            var proton = try self.proton(protonID)
            let released = try showHeld(protonID, of: &proton, upTo: UInt64(last))
            try updateProton(protonID, to: proton, now: now)
            shown.append((protonID, released))
        }
        return shown
    }

    /// Shows the held messages that now follow in order (all of them, in order, when
    /// `upTo` gives up on the gaps below that sequence).
    func showHeld(_ protonID: ProtonID, of proton: inout Proton, upTo giveUp: UInt64?) throws -> [ShownMessage] {
        let held = try MessageRecord.filter(MessageRecord.Columns.protonID == protonID.rawValue && MessageRecord.Columns.held == true)
            .order(MessageRecord.Columns.sequence).fetchAll(db)
        var shown: [ShownMessage] = []
        for record in held {
            guard let id = record.id, let raw = record.sequence else { continue }
            guard let address = try? AddressID(hex: record.address ?? "") else { throw StoreError.corrupt(what: "message \(id)") }
            let sequence = UInt64(raw)
            let inOrder = sequence == (proton.presentedPeerSequence ?? 0) + 1
            guard inOrder || (giveUp.map { sequence <= $0 } ?? false) else { continue }
            try show(id)
            proton.markPresented(through: sequence)
            shown.append(
                ShownMessage(
                    id: id, sequence: sequence, body: try sealer.open(record.body, .messageBody, row: protonID.rawValue),
                    address: address, skippedBefore: inOrder ? nil : sequence))
        }
        return shown
    }
}

/// A received message as the log shows it.
public struct ShownMessage: Sendable, Equatable {
    public let id: Int64
    public let sequence: UInt64
    public let body: [UInt8]
    /// Our address it arrived at.
    public let address: AddressID
    /// It arrived after later messages of the same sender were shown.
    public var late = false
    /// Shown although earlier messages of the sender never arrived (the hold-back ended): the
    /// ones missing before this sequence are given up on.
    public var skippedBefore: UInt64? = nil
}

@available(*, unavailable, message: "a transaction belongs to the thread that runs it")
extension StoreTransaction: Sendable {}
