import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import Synchronization

/// A client profile on disk: `DIRECTORY/proton.sqlite`, an SQLite database in WAL mode holding
/// the personas, the protons with their skipped message keys, the message log and the outbox.
///
/// Every method is one transaction. Steps that must be atomic together — a ratchet step and the
/// message it produced or consumed — are single methods (`recordOutgoing`, `recordIncoming`)
/// or go through `transaction(_:)`.
public final class ProfileStore: Sendable {
    public static let databaseFileName = "proton.sqlite"

    public let directory: URL
    private let pool: any DatabaseWriter
    /// Every use of `pool` passes through it, so that `close` never runs beside one: GRDB must
    /// not close a pool while it is in use (a read that had got past its check was handed a
    /// reader already closed, and libsqlite3 crashed on its null handle).
    private let gate = AccessGate()
    let sealer: SecretSealer
    private let files: FileIdentities
    /// Opened by `openForReading` on a profile that cannot be written: every write refuses.
    public var isReadOnly: Bool { immutableFile != nil }
    /// For a read-only store: the database file as it was when opened. SQLite reads an
    /// immutable file without locks and keeps its pages across reads, so a file that another
    /// process changes meanwhile (through a mount that can write) would give a mix of old and
    /// new pages; every read checks that it has not changed.
    private let immutableFile: FileVersion?

    private init(directory: URL, pool: any DatabaseWriter, sealer: SecretSealer, immutableFile: FileVersion? = nil) {
        self.directory = directory
        self.pool = pool
        self.sealer = sealer
        self.immutableFile = immutableFile
        files = FileIdentities(database: Self.databaseURL(in: directory).path)
    }

    public static func databaseURL(in directory: URL) -> URL {
        directory.appendingPathComponent(databaseFileName, isDirectory: false)
    }

    /// Whether a database file exists in `directory` (it may still be an unfinished one).
    public static func exists(at directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: databaseURL(in: directory).path)
    }

    // MARK: - Opening

    /// Creates a profile in `directory` (made 0700 if missing), optionally with a first persona,
    /// and refuses if one is there already. With a passphrase, secrets are sealed under a key
    /// derived from it with Argon2id at `cost`.
    public static func create(
        at directory: URL, persona: Persona? = nil, passphrase: SecureBytes? = nil,
        cost: Argon2id.Cost = .interactive, now: Date = Date()
    ) throws -> ProfileStore {
        try FilePermissions.prepareDirectory(directory, databaseFileName: databaseFileName)
        let databaseURL = databaseURL(in: directory)
        try FilePermissions.createPrivateFile(databaseURL)

        var profile = ProfileRecord(created: now, formatVersion: StoreMigrations.formatVersion)
        var sealer = SecretSealer.plain
        if let passphrase {
            let salt = SystemRandom().bytes(Argon2id.saltByteCount)
            sealer = try SecretSealer.derive(passphrase: passphrase, salt: salt, cost: cost)
            profile.kdfSalt = Data(salt)
            profile.kdfOperations = Int64(cost.operations)
            profile.kdfMemoryBytes = Int64(cost.memoryBytes)
            profile.keyCheck = sealer.makeKeyCheck()
        }

        let pool = try openPool(in: directory)
        do {
            try mapDatabaseErrors {
                try StoreMigrations.migrator.migrate(pool)
                try pool.write { db in
                    // An earlier `create` that stopped before this point left no profile row.
                    guard try !ProfileRecord.exists(db, key: ProfileRecord.singletonID) else {
                        throw StoreError.profileExists(directory: directory.path)
                    }
                    try profile.insert(db)
                    if let persona {
                        try StoreTransaction(db: db, sealer: sealer).insertPersona(persona, now: now)
                    }
                }
            }
        } catch {
            try? pool.close()
            throw error
        }
        let store = ProfileStore(directory: directory, pool: pool, sealer: sealer)
        try store.restrictFileModes()
        return store
    }

    /// Opens the profile in `directory`, bringing its schema up to date. A profile protected by
    /// a passphrase needs it.
    public static func open(at directory: URL, passphrase: SecureBytes? = nil) throws -> ProfileStore {
        guard exists(at: directory) else { throw StoreError.noProfile(directory: directory.path) }
        try FilePermissions.prepareDirectory(directory, databaseFileName: databaseFileName)
        let pool: DatabasePool
        do {
            pool = try openPool(in: directory)
        } catch StoreError.cannotCreate where !FilePermissions.isWritable(directory) {
            throw StoreError.notWritable(path: directory.path, reason: FilePermissions.whyNotWritable(directory))
        }
        do {
            let profile: ProfileRecord? = try mapDatabaseErrors {
                let migrator = StoreMigrations.migrator
                if try pool.read({ try migrator.hasBeenSuperseded($0) }) { throw StoreError.newerFormat }
                try migrator.migrate(pool)
                return try pool.read { try ProfileRecord.fetchOne($0, key: ProfileRecord.singletonID) }
            }
            guard let profile else { throw StoreError.noProfile(directory: directory.path) }
            guard profile.formatVersion <= StoreMigrations.formatVersion else { throw StoreError.newerFormat }
            let store = ProfileStore(directory: directory, pool: pool, sealer: try sealer(for: profile, passphrase: passphrase))
            try store.restrictFileModes()
            return store
        } catch StoreError.cannotCreate where !FilePermissions.isWritable(directory) {
            try? pool.close()
            throw StoreError.notWritable(path: directory.path, reason: FilePermissions.whyNotWritable(directory))
        } catch {
            try? pool.close()
            throw error
        }
    }

    /// Opens the profile for commands that only read (`contacts`, `show`, `persona list`,
    /// `export-state`): as `open` does when the profile can be written; when it cannot (a backup
    /// mounted read-only, another user's files), read-only, without touching a file. SQLite
    /// needs to create the write-ahead log's index beside a WAL database even to read it, so a
    /// profile in a directory that cannot be written is opened as immutable, which is exact
    /// only while its write-ahead log is empty: a log that still holds commits (the process
    /// that wrote them did not close the profile) is refused rather than read without them.
    public static func openForReading(at directory: URL, passphrase: SecureBytes? = nil) throws -> ProfileStore {
        do {
            return try open(at: directory, passphrase: passphrase)
        } catch StoreError.notWritable(let path, let reason) {
            return try openReadOnly(at: directory, passphrase: passphrase, notWritable: (path, reason))
        }
    }

    static func openReadOnly(
        at directory: URL, passphrase: SecureBytes?, notWritable: (path: String, reason: String)
    ) throws -> ProfileStore {
        let database = databaseURL(in: directory).path
        var log = stat()
        if stat(database + "-wal", &log) == 0, log.st_size > 0 {
            throw StoreError.notWritable(
                path: notWritable.path,
                reason: notWritable.reason + "; its write-ahead log holds changes that only a process that can write may read")
        }
        var configuration = Configuration()
        configuration.label = "ProtonStore (read-only)"
        configuration.readonly = true
        // `immutable`: no lock, no -shm, no -wal; the file is read as it is (SQLite's URI
        // filenames, which Debian's SQLite accepts in every open call).
        // An empty authority ("file://" and an absolute path), so a path that starts with "//"
        // cannot be taken for a host.
        let encoded = database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? database
        guard let version = FileVersion(database) else { throw StoreError.noProfile(directory: directory.path) }
        let queue: DatabaseQueue
        do {
            queue = try mapDatabaseErrors { try DatabaseQueue(path: "file://\(encoded)?immutable=1", configuration: configuration) }
        } catch StoreError.cannotCreate {
            throw StoreError.notWritable(path: notWritable.path, reason: notWritable.reason)
        }
        do {
            let profile: ProfileRecord? = try mapDatabaseErrors {
                try queue.read { db in
                    let migrator = StoreMigrations.migrator
                    if try migrator.hasBeenSuperseded(db) { throw StoreError.newerFormat }
                    // Bringing an older profile up to date is a write.
                    guard try migrator.hasCompletedMigrations(db) else {
                        throw StoreError.notWritable(
                            path: notWritable.path,
                            reason: notWritable.reason + "; it was written by an older version of Proton and must be brought up to date first")
                    }
                    return try ProfileRecord.fetchOne(db, key: ProfileRecord.singletonID)
                }
            }
            guard let profile else { throw StoreError.noProfile(directory: directory.path) }
            guard profile.formatVersion <= StoreMigrations.formatVersion else { throw StoreError.newerFormat }
            let store = ProfileStore(
                directory: directory, pool: queue, sealer: try sealer(for: profile, passphrase: passphrase), immutableFile: version)
            try store.checkUnchanged()
            return store
        } catch {
            try? queue.close()
            throw error
        }
    }

    private static func sealer(for profile: ProfileRecord, passphrase: SecureBytes?) throws(StoreError) -> SecretSealer {
        guard let salt = profile.kdfSalt else { return .plain }
        guard let operations = profile.kdfOperations, let memory = profile.kdfMemoryBytes, let keyCheck = profile.keyCheck,
            operations > 0, memory > 0
        else { throw .corrupt(what: "passphrase parameters") }
        guard let passphrase else { throw .passphraseRequired }
        let sealer = try SecretSealer.derive(
            passphrase: passphrase, salt: Array(salt),
            cost: Argon2id.Cost(operations: UInt64(operations), memoryBytes: Int(memory)))
        try sealer.verify(keyCheck: keyCheck)
        return sealer
    }

    private static func openPool(in directory: URL) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.label = "ProtonStore"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Deleted rows held old ratchet keys: overwrite them rather than leave them in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return try mapDatabaseErrors {
            try DatabasePool(path: databaseURL(in: directory).path, configuration: configuration)
        }
    }

    private func restrictFileModes() throws {
        let database = Self.databaseURL(in: directory)
        try FilePermissions.restrict([
            database,
            URL(fileURLWithPath: database.path + "-wal"),
            URL(fileURLWithPath: database.path + "-shm"),
        ])
    }

    /// Closes the database, after moving everything in the write-ahead log into the database
    /// file (a TRUNCATE checkpoint): the file alone is then the whole profile, so a copy of it
    /// is a backup, and a log deleted by mistake between commands loses nothing. (Before, each
    /// command left its commits in the log: a probe found a profile's file with no contacts
    /// at all while `contacts` listed them.) The store cannot be used afterwards.
    /// Calls already running finish first; later ones throw `StoreError.closed`. A second
    /// close does nothing more, and returns once the first has closed the database. Must not
    /// be called from inside a transaction's body.
    public func close() throws {
        try gate.close {
            if !isReadOnly, files.problem() == nil {
                _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            }
            try Self.mapDatabaseErrors { try pool.close() }
        }
    }

    /// Runs `body` unless the store is closed (or closing), holding off `close` meanwhile.
    private func guarded<T>(_ body: () throws -> T) throws -> T {
        guard gate.enter() else { throw StoreError.closed }
        defer { gate.leave() }
        return try body()
    }

    // MARK: - Transactions

    /// Runs `body` in one write transaction: everything it writes commits together, and if it
    /// throws nothing it wrote remains. The error is rethrown as it was.
    public func transaction<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        if isReadOnly { throw StoreError.notWritable(path: directory.path, reason: "it was opened for reading only") }
        do {
            // The files are checked inside the gate: a close meanwhile removes the log.
            return try guarded {
                try checkFilesInGate()
                return try Self.mapDatabaseErrors { try pool.write { db in try body(StoreTransaction(db: db, sealer: sealer)) } }
            }
        } catch StoreError.cannotCreate where !FilePermissions.isWritable(directory) {
            // Opened while another process held the log and its index open: SQLite reads
            // through them, and says "readonly database" only at the first write.
            throw StoreError.notWritable(path: directory.path, reason: FilePermissions.whyNotWritable(directory))
        }
    }

    /// Throws `filesReplaced` if the database or its write-ahead log is no longer the file this
    /// store opened: someone deleted or replaced it underneath. SQLite would go on writing to
    /// the unlinked file, and everything written from then on would be lost when the process
    /// ends (a probe saw `contacts` answer "No contacts yet." that way). Two `stat` calls; every
    /// write transaction checks first, and `receive --watch` every round.
    public func checkFiles() throws(StoreError) {
        guard gate.enter() else { throw .closed }
        defer { gate.leave() }
        try checkFilesInGate()
    }

    /// `checkFiles` for a caller that holds the gate (a closed store has no log to check).
    private func checkFilesInGate() throws(StoreError) {
        guard let problem = files.problem() else { return }
        // Only the log deleted, the database file still ours and nothing new in the log's
        // place: this process still holds the deleted log open, so its commits can be written
        // back into the database file before stopping.
        if files.onlyLogDeleted {
            let saved = (try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }) != nil
            throw .filesReplaced(problem + (saved ? "; what it held was written back into the database file" : ""))
        }
        throw .filesReplaced(problem)
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let value = try guarded { try Self.mapDatabaseErrors { try pool.read(body) } }
        try checkUnchanged()
        return value
    }

    /// A read-only store whose file changed since it was opened refuses what it read.
    private func checkUnchanged() throws(StoreError) {
        guard let immutableFile else { return }
        let path = Self.databaseURL(in: directory).path
        guard FileVersion(path) == immutableFile else {
            throw .filesReplaced("\(path) changed while it was being read (another process wrote to it); try again")
        }
    }

    /// GRDB's errors become `StoreError`s; anything else (a caller's error thrown inside a
    /// transaction) passes through unchanged.
    private static func mapDatabaseErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED: throw StoreError.busy
            case .SQLITE_FULL: throw StoreError.diskFull
            case .SQLITE_NOTADB, .SQLITE_CORRUPT: throw StoreError.corrupt(what: "database")
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
                throw StoreError.cannotCreate(path: "the profile database", reason: error.message ?? "permission denied")
            default: throw StoreError.database(message: error.message ?? "\(error.resultCode)")
            }
        } catch is RowDecodingError {
            // A value of the wrong type or shape in a column (a date that is not one, say): the
            // file was altered. The row itself stays out of the message.
            throw StoreError.corrupt(what: "database (a stored value does not decode)")
        } catch is DecodingError {
            throw StoreError.corrupt(what: "database (a stored value does not decode)")
        }
    }

    // MARK: - Profile

    public func profileInfo() throws -> ProfileInfo {
        guard let record = try read({ try ProfileRecord.fetchOne($0, key: ProfileRecord.singletonID) }) else {
            throw StoreError.noProfile(directory: directory.path)
        }
        var cost: Argon2id.Cost?
        if record.kdfSalt != nil, let operations = record.kdfOperations, let memory = record.kdfMemoryBytes {
            cost = Argon2id.Cost(operations: UInt64(operations), memoryBytes: Int(memory))
        }
        return ProfileInfo(created: record.created, formatVersion: record.formatVersion, passphraseCost: cost)
    }

    // MARK: - Personas

    @discardableResult
    public func addPersona(_ persona: Persona, now: Date = Date()) throws -> PersonaID {
        try transaction { try $0.insertPersona(persona, now: now) }
    }

    /// All personas, oldest first, without their secret keys.
    public func personas() throws -> [StoredPersona] {
        try read { db in
            try PersonaRecord.order(PersonaRecord.Columns.created, Column.rowID).fetchAll(db).map { record in
                guard let key = try? Ed25519.PublicKey(rawRepresentation: Array(record.identityKey)) else {
                    throw StoreError.corrupt(what: "identity key of persona \(record.id)")
                }
                return StoredPersona(
                    id: PersonaID(rawValue: record.id), displayName: record.displayName, identityKey: key,
                    created: record.created)
            }
        }
    }

    /// A persona with its secret identity key.
    public func persona(_ id: PersonaID) throws -> Persona {
        try read { db in
            guard let record = try PersonaRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.unknownPersona(id) }
            return try StoreTransaction.persona(from: record, sealer: sealer)
        }
    }

    // MARK: - Protons

    public func addProton(_ proton: Proton, personaID: PersonaID, now: Date = Date()) throws -> ProtonID {
        try transaction { try $0.insertProton(proton, personaID: personaID, now: now) }
    }

    /// The initiator's start: the new proton, its first message in the log, and the initial
    /// message in the outbox, in one transaction.
    public func startRelationship(
        personaID: PersonaID, proton: Proton, body: [UInt8], initialMessage: InitialMessage, now: Date = Date()
    ) throws -> ProtonID {
        try transaction { tx in
            let id = try tx.insertProton(proton, personaID: personaID, now: now)
            let routes = proton.sendingRoutes
            let messageID = try tx.appendMessage(
                protonID: id, direction: .outgoing, body: body, address: routes.first?.address.hex, timestamp: now)
            try tx.enqueue(protonID: id, messageID: messageID, ciphertext: initialMessage.encoded(), routes: routes, now: now)
            return id
        }
    }

    /// The responder's start: the new proton and the first message it opened, in one transaction.
    public func acceptRelationship(
        personaID: PersonaID, proton: Proton, body: [UInt8], address: AddressID, now: Date = Date()
    ) throws -> ProtonID {
        try transaction { tx in
            let id = try tx.insertProton(proton, personaID: personaID, now: now)
            try tx.appendMessage(protonID: id, direction: .incoming, body: body, address: address.hex, timestamp: now)
            return id
        }
    }

    /// All protons, oldest first, read without opening their sealed state.
    public func protons() throws -> [ProtonSummary] {
        try read { db in
            try ProtonRecord.order(ProtonRecord.Columns.created, Column.rowID).fetchAll(db).map { record in
                guard let peer = try? Ed25519.PublicKey(rawRepresentation: Array(record.peerIdentity)) else {
                    throw StoreError.corrupt(what: "peer identity of proton \(record.id)")
                }
                return ProtonSummary(
                    id: ProtonID(rawValue: record.id), personaID: PersonaID(rawValue: record.personaID),
                    relationshipID: record.relationshipID, peerIdentity: peer, peerDisplayName: record.peerDisplayName,
                    created: record.created, updated: record.updated)
            }
        }
    }

    /// A proton with its skipped message keys, ready to continue the conversation.
    public func proton(_ id: ProtonID) throws -> Proton {
        try read { db in
            guard let record = try ProtonRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.unknownProton(id) }
            return try StoreTransaction.proton(from: record, db: db, sealer: sealer)
        }
    }

    /// Replaces a proton's state (after a rotation, a retirement or a block).
    public func saveProton(_ id: ProtonID, _ proton: Proton, now: Date = Date()) throws {
        try transaction { try $0.updateProton(id, to: proton, now: now) }
    }

    /// Deletes a proton with its skipped keys, messages and outbox.
    public func removeProton(_ id: ProtonID) throws {
        try transaction { try $0.deleteProton(id) }
    }

    // MARK: - Messages

    /// See `StoreTransaction.recordOutgoing`.
    @discardableResult
    public func recordOutgoing(
        protonID: ProtonID, updated proton: Proton, body: [UInt8], ciphertext: [UInt8], routes: [Route], now: Date = Date()
    ) throws -> (messageID: Int64, outboxID: Int64) {
        try transaction {
            try $0.recordOutgoing(protonID: protonID, updated: proton, body: body, ciphertext: ciphertext, routes: routes, now: now)
        }
    }

    /// See `StoreTransaction.recordIncoming`.
    @discardableResult
    public func recordIncoming(
        protonID: ProtonID, updated proton: Proton, body: [UInt8], address: AddressID, sequence: UInt64, now: Date = Date()
    ) throws -> [ShownMessage] {
        try transaction { try $0.recordIncoming(protonID: protonID, updated: proton, body: body, address: address, sequence: sequence, now: now) }
    }

    /// Ends the hold-back: for every relationship whose oldest held message arrived before
    /// `heldBefore`, or that holds more than `maximumHeld`, its held messages are shown in
    /// sequence order, giving up on the gaps between them. Returns what was shown, per
    /// relationship, in order.
    public func showHeldMessages(heldBefore: Date, maximumHeld: Int, now: Date = Date()) throws -> [(ProtonID, [ShownMessage])] {
        try transaction { tx in try tx.showOverdueHeldMessages(heldBefore: heldBefore, maximumHeld: maximumHeld, now: now) }
    }

    /// How many incoming messages wait, held back, for an earlier one of their sender.
    public func heldMessageCount() throws -> Int {
        try read { db in try MessageRecord.filter(MessageRecord.Columns.held == true).fetchCount(db) }
    }

    /// The message log of one proton, oldest first.
    /// The log of one relationship as it is shown: in order of position (each sender's
    /// messages in the order sent), held messages left out.
    public func messages(protonID: ProtonID) throws -> [StoredMessage] {
        try read { db in
            try MessageRecord.filter(MessageRecord.Columns.protonID == protonID.rawValue && MessageRecord.Columns.held == false)
                .order(MessageRecord.Columns.position, MessageRecord.Columns.id)
                .fetchAll(db)
                .map { record in
                    guard let direction = StoredMessage.Direction(rawValue: record.direction) else {
                        throw StoreError.corrupt(what: "message \(record.id ?? 0)")
                    }
                    return StoredMessage(
                        id: record.id ?? 0, protonID: protonID, direction: direction,
                        body: try sealer.open(record.body, .messageBody, row: record.protonID),
                        address: record.address, timestamp: record.timestamp)
                }
        }
    }

    /// The number of messages in each proton's log.
    public func messageCounts() throws -> [ProtonID: Int] {
        try read { db in
            let rows = try MessageRecord
                .select(MessageRecord.Columns.protonID, count(MessageRecord.Columns.id))
                .group(MessageRecord.Columns.protonID)
                .asRequest(of: Row.self)
                .fetchAll(db)
            return Dictionary(uniqueKeysWithValues: rows.map { (ProtonID(rawValue: $0[0]), $0[1] as Int) })
        }
    }

    // MARK: - Outbox

    /// What waits to be delivered, oldest first; for one proton, or for all.
    public func outbox(protonID: ProtonID? = nil) throws -> [OutboxItem] {
        try read { db in
            var request = OutboxRecord.order(OutboxRecord.Columns.id)
            if let protonID { request = request.filter(OutboxRecord.Columns.protonID == protonID.rawValue) }
            return try request.fetchAll(db).map { record in
                OutboxItem(
                    id: record.id ?? 0, protonID: ProtonID(rawValue: record.protonID), messageID: record.messageID,
                    ciphertext: Array(record.ciphertext),
                    routes: try RouteList.decode(sealer.open(record.routes, .outboxRoutes, row: record.protonID)),
                    created: record.created, attempts: record.attempts, lastAttempt: record.lastAttempt)
            }
        }
    }

    /// Counts a failed delivery attempt.
    public func recordDeliveryAttempt(outboxID: Int64, now: Date = Date()) throws {
        try transaction { tx in
            _ = try OutboxRecord.filter(key: outboxID).updateAll(
                tx.db, OutboxRecord.Columns.attempts += 1, OutboxRecord.Columns.lastAttempt.set(to: now))
        }
    }

    /// Removes a delivered ciphertext.
    public func removeFromOutbox(_ outboxID: Int64) throws {
        try transaction { tx in _ = try OutboxRecord.deleteOne(tx.db, key: outboxID) }
    }
}

/// The device and inode of the profile's database and write-ahead log as opened.
private final class FileIdentities: Sendable {
    private struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    private let database: String
    private let main: Identity?
    /// The WAL exists while any connection is open; taken at the first check if it was not
    /// there yet when the store opened.
    private let wal: Mutex<Identity?>

    init(database: String) {
        self.database = database
        main = Self.identity(database)
        wal = Mutex(Self.identity(database + "-wal"))
    }

    func problem() -> String? {
        guard let main else { return nil }
        if Self.identity(database) != main { return "\(database) was deleted or replaced while this process had it open" }
        return wal.withLock { known -> String? in
            let now = Self.identity(database + "-wal")
            guard let expected = known else {
                known = now
                return nil
            }
            return now == expected ? nil : "\(database)-wal was deleted or replaced while this process had it open; what was written since is lost"
        }
    }

    /// The database file is the one opened and no log exists at its path: the log was deleted,
    /// not replaced.
    var onlyLogDeleted: Bool {
        guard let main, Self.identity(database) == main else { return false }
        return wal.withLock { $0 != nil } && Self.identity(database + "-wal") == nil
    }

    private static func identity(_ path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}

/// A file's identity and last change (inode, size, modification time to the nanosecond).
private struct FileVersion: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int
    let modifiedNanoseconds: Int

    init?(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modifiedSeconds = Int(status.st_mtim.tv_sec)
        modifiedNanoseconds = Int(status.st_mtim.tv_nsec)
    }
}

/// Lets accesses in until `close`, which then waits for the ones running (each one synchronous
/// SQLite call, bounded by its busy timeout) before closing. Nested accesses count each;
/// `close` must not be called from inside one.
private final class AccessGate: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var closing = false
    private var closed = false
    private var running = 0

    func enter() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closing else { return false }
        running += 1
        return true
    }

    func leave() {
        condition.lock()
        running -= 1
        if running == 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Refuses every later access, waits for the running ones, then runs `body`, once: a later
    /// call waits until that run has ended.
    func close(_ body: () throws -> Void) throws {
        condition.lock()
        if closing {
            while !closed { condition.wait() }
            condition.unlock()
            return
        }
        closing = true
        while running > 0 { condition.wait() }
        condition.unlock()
        defer {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
        try body()
    }
}
