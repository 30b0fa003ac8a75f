import Foundation
import ProtonAgents
import ProtonCore
import ProtonCrypto
import ProtonStore
import Synchronization

/// One person's Proton profile, opened: their personas, their relationships (contacts), their
/// own services, and every step a client takes with them. An application holds one `Profile`
/// per profile directory; each method is one step (an invite printed, one accepted, a message
/// sent, a round of receiving) and leaves the profile consistent whatever happens during it.
///
/// The profile's storage is `ProfileStore` (SQLite, secrets sealed under the passphrase when
/// there is one); the agents (`SendAgent`, `ReceiveAgent`) are made from its services and kept
/// while the profile is open, so that a long-running receiver keeps its hold-back state.
///
/// An actor's methods interleave at their suspension points; the steps that must not run
/// twice at once do not: one round of receiving at a time, and one use of the outbox (a send,
/// a flush, a start's first delivery) at a time. A second caller waits for the first.
public actor Profile {
    /// The profile directory.
    public nonisolated let directory: URL
    /// The storage underneath, for what this API does not cover yet.
    public nonisolated let store: ProfileStore
    /// Our sending and receiving services, as the profile stores them (empty when they could
    /// not be read: `checkServices()` then says why, and every step that needs a service
    /// throws it).
    public private(set) var services: ServicesConfiguration
    private let servicesError: ProfileError?
    private var sender: SendAgent?
    private var receiver: ReceiveAgent?
    private let closed = Mutex(false)
    /// The steps that wait their turn (see the type's comment), and who waits for each.
    enum Turn: Hashable {
        case receiving
        case outbox
    }

    private var turns: [Turn: (held: Bool, waiters: [CheckedContinuation<Void, Never>])] = [:]

    private init(store: ProfileStore) {
        self.directory = store.directory
        self.store = store
        do {
            services = try ServicesConfiguration.load(from: store)
            servicesError = nil
        } catch {
            services = ServicesConfiguration()
            servicesError = ProfileError(error)
        }
        // An earlier version's directories.json is taken in now too, so that a migrated
        // profile has no file left beside it; a damaged one stays and is reported when used.
        let legacyTrust = store.directory.appendingPathComponent(ProfileStore.Document.directoryTrust.legacyFileName)
        if FileManager.default.fileExists(atPath: legacyTrust.path) { _ = try? DirectoryTrust.load(from: store) }
    }

    /// Throws when the profile was closed.
    func checkOpen() throws(ProfileError) {
        if closed.withLock({ $0 }) { throw .closed }
    }

    /// Throws why the services could not be read, or a receiving service whose pinned key
    /// is damaged.
    public func checkServices() throws(ProfileError) {
        if let servicesError { throw servicesError }
        _ = try receivingEndpoints()
    }

    /// The services as stored, or why they could not be read.
    public func storedServices() throws(ProfileError) -> ServicesConfiguration {
        if let servicesError { throw servicesError }
        return services
    }

    /// Waits, in order, until no other caller holds `turn`, then holds it.
    func acquire(_ turn: Turn) async {
        guard turns[turn]?.held == true else {
            turns[turn] = (true, turns[turn]?.waiters ?? [])
            return
        }
        await withCheckedContinuation { turns[turn]!.waiters.append($0) }
    }

    /// Hands `turn` to the next waiter, if any, else frees it.
    func release(_ turn: Turn) {
        guard var state = turns[turn] else { return }
        if state.waiters.isEmpty {
            state.held = false
            turns[turn] = state
        } else {
            let next = state.waiters.removeFirst()
            turns[turn] = state
            next.resume()
        }
    }

    /// Runs `body` as the only round of receiving in progress.
    func receiving<T>(_ body: () async throws(ProfileError) -> T) async throws(ProfileError) -> T {
        await acquire(.receiving)
        defer { release(.receiving) }
        try checkOpen()
        return try await body()
    }

    /// Runs `body` as the only use of the outbox in progress.
    func usingOutbox<T>(_ body: () async throws(ProfileError) -> T) async throws(ProfileError) -> T {
        await acquire(.outbox)
        defer { release(.outbox) }
        try checkOpen()
        return try await body()
    }

    // MARK: - Opening

    /// Creates a profile in `directory` with its first persona, and refuses when one is there
    /// already. With a passphrase, the secrets are sealed under a key derived from it
    /// (Argon2id), and every later `open` needs it.
    public static func create(at directory: URL, displayName: String, passphrase: SecureBytes?) throws(ProfileError) -> Profile {
        let persona: Persona
        do throws(WireError) { persona = try Persona(displayName: displayName, random: SystemRandom()) } catch {
            throw .unusableName(error)
        }
        let store = try ProfileError.classifying { try ProfileStore.create(at: directory, persona: persona, passphrase: passphrase) }
        return Profile(store: store)
    }

    /// Opens the profile in `directory` for reading and writing.
    public static func open(at directory: URL, passphrase: SecureBytes?) throws(ProfileError) -> Profile {
        let store = try ProfileError.classifying { try ProfileStore.open(at: directory, passphrase: passphrase) }
        return Profile(store: store)
    }

    /// Opens the profile in `directory` only to read it: a profile that cannot be written (a
    /// backup mounted read-only) is read without creating or changing any file; anything
    /// that writes fails with `StoreError.notWritable`.
    public static func openForReading(at directory: URL, passphrase: SecureBytes?) throws(ProfileError) -> Profile {
        let store = try ProfileError.classifying { try ProfileStore.openForReading(at: directory, passphrase: passphrase) }
        return Profile(store: store)
    }

    /// Closes the storage. Every later call throws `.closed`, and an `events()` stream ends.
    public nonisolated func close() {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if !wasClosed { try? store.close() }
    }

    /// Checks a display name before anything is opened or created.
    public static func validateDisplayName(_ name: String) throws(ProfileError) {
        do throws(WireError) { _ = try Persona(displayName: name, random: SystemRandom()) } catch { throw .unusableName(error) }
    }

    // MARK: - Personas

    public func personas() throws(ProfileError) -> [StoredPersona] {
        try checkOpen()
        return try ProfileError.classifying { try store.personas() }
    }

    /// The persona `query` names: a display name (any case), else an id prefix; the first
    /// persona when `query` is nil.
    public func persona(matching query: String?) throws(ProfileError) -> StoredPersona {
        try Self.choosePersona(query, among: try personas())
    }

    /// The persona `query` names among `personas` (see `persona(matching:)`).
    public static func choosePersona(_ query: String?, among personas: [StoredPersona]) throws(ProfileError) -> StoredPersona {
        guard let query else {
            guard let first = personas.first else { throw .noPersona }
            return first
        }
        let wanted = query.lowercased()
        let byName = personas.filter { $0.displayName.lowercased() == wanted }
        let matches = byName.isEmpty ? personas.filter { $0.id.rawValue.hasPrefix(wanted) } : byName
        switch matches.count {
        case 1: return matches[0]
        case 0: throw .noSuchPersona(query)
        default: throw .ambiguousPersona(query, matches: matches.count)
        }
    }

    /// Adds a persona: a new identity, unlinkable to the others. Display names are unique
    /// within a profile (in any case).
    public func addPersona(displayName: String) throws(ProfileError) -> StoredPersona {
        let persona: Persona
        do throws(WireError) { persona = try Persona(displayName: displayName, random: SystemRandom()) } catch {
            throw .unusableName(error)
        }
        return try ProfileError.classifying {
            if try store.personas().contains(where: { $0.displayName.lowercased() == displayName.lowercased() }) {
                throw ProfileError.personaExists(displayName)
            }
            let id = try store.addPersona(persona)
            guard let stored = try store.personas().first(where: { $0.id == id }) else { throw StoreError.unknownPersona(id) }
            return stored
        }
    }

    // MARK: - Contacts

    /// Every relationship, opened, with its persona and how many messages it has logged.
    public func contacts() throws(ProfileError) -> [Contact] {
        try Contact.loadAll(from: store)
    }

    /// Every relationship as listed, without opening its sealed state.
    public func contactSummaries() throws(ProfileError) -> [ContactSummary] {
        try ProfileError.classifying { try store.protons() }
    }

    /// The one contact `query` names: a display name (any case), else a prefix of a
    /// relationship id.
    public func contact(matching query: String) throws(ProfileError) -> ContactSummary {
        try Contact.resolve(query, in: try contactSummaries())
    }

    /// One relationship, opened.
    public func contact(_ id: ProtonID) throws(ProfileError) -> Contact {
        try ProfileError.classifying {
            guard let summary = try store.protons().first(where: { $0.id == id }) else { throw StoreError.unknownProton(id) }
            return try Contact.load([summary], from: store)[0] as Contact
        }
    }

    // MARK: - Services

    /// Which list a service belongs to.
    public enum ServiceKind: String, Sendable, CaseIterable {
        case sending
        case receiving
    }

    /// Adds one of our services. A receiving service is asked for its public key, which is
    /// pinned: every address made there carries it. Returns the URI as stored.
    @discardableResult
    public func addService(_ kind: ServiceKind, uri: String) async throws(ProfileError) -> String {
        try checkOpen()
        if let servicesError { throw servicesError }
        // The key is asked for first: from here to the save nothing suspends, so a change made
        // meanwhile by another call is never overwritten.
        var key: SealedBox.PublicKey?
        if kind == .receiving {
            let normalized: String
            do throws(AgentError) { normalized = try ServicesConfiguration.normalize(uri) } catch { throw .agent(error) }
            key = try await ProfileError.classifying { try await ReceivingServiceClient(serviceURI: normalized).serviceKey() }
        }
        var updated = services
        let now = Date()
        let stored: String
        do {
            switch (kind, key) {
            case (.receiving, let key?):
                let normalized = try ServicesConfiguration.normalize(uri)
                try updated.addReceiving(normalized, publicKey: key, now: now)
                stored = normalized
            default:
                try updated.addSending(uri, now: now)
                stored = updated.sending.last!.uri
            }
            try updated.save(to: store)
        } catch { throw ProfileError(error) }
        services = updated
        sender = nil
        receiver = nil
        return stored
    }

    /// Removes one of our services by URI. Addresses given out there stay there, unpolled;
    /// rotation moves each relationship to our other services.
    public func removeService(uri: String) throws(ProfileError) {
        try checkOpen()
        if let servicesError { throw servicesError }
        var updated = services
        do {
            try updated.remove(uri)
            try updated.save(to: store)
        } catch { throw ProfileError(error) }
        services = updated
        sender = nil
        receiver = nil
    }

    // MARK: - Agents

    func sendAgent() throws(ProfileError) -> SendAgent {
        try checkOpen()
        if let servicesError { throw servicesError }
        if let sender { return sender }
        guard !services.sending.isEmpty else { throw .agent(.noSendingService) }
        let agent = SendAgent(store: store, relays: services.relays(), receivingServices: try receivingEndpoints())
        sender = agent
        return agent
    }

    func receiveAgent() throws(ProfileError) -> ReceiveAgent {
        try checkOpen()
        if let servicesError { throw servicesError }
        if let receiver { return receiver }
        guard !services.receiving.isEmpty else { throw .agent(.noReceivingService) }
        let agent = try ProfileError.classifying {
            try ReceiveAgent(store: store, services: services.mailboxes(), stateDirectory: store.directory)
        }
        receiver = agent
        return agent
    }

    func receivingEndpoints() throws(ProfileError) -> [ReceivingEndpoint] {
        if let servicesError { throw servicesError }
        do throws(AgentError) { return try services.receivingEndpoints() } catch { throw .agent(error) }
    }

    func issuer() throws(ProfileError) -> AddressIssuer {
        AddressIssuer(services: try receivingEndpoints())
    }
}

