import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonStore

/// The fixed clock of every test: 2027-01-15T08:00:00Z.
let testNow = Date(timeIntervalSince1970: 1_800_000_000)

/// A fresh directory under the system's temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ProtonStoreTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside it that does not exist yet.
    func child(_ name: String) -> URL { url.appendingPathComponent(name, isDirectory: true) }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A receiving service and fresh routes at it.
struct RouteFactory {
    let service = SealedBox.PrivateKey()
    let serviceURI = "https://rs.example.org/v1"

    func ownRoute(now: Date = testNow) throws -> OwnRoute {
        let route = try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: SystemRandom()))
        return OwnRoute(route: route, authKey: Ed25519.PrivateKey(), issuedAt: now)
    }
}

/// One party: a profile on disk with one persona, and (once paired) the id of its proton.
struct Party {
    let directory: URL
    var store: ProfileStore
    let personaID: PersonaID
    var protonID: ProtonID?

    init(directory: URL, name: String, passphrase: SecureBytes? = nil) throws {
        self.directory = directory
        let persona = try Persona(displayName: name, random: SystemRandom())
        store = try ProfileStore.create(at: directory, persona: persona, passphrase: passphrase, cost: .minimum, now: testNow)
        personaID = try store.personas()[0].id
    }

    /// Closes the store and opens the profile again from disk, as a new process would.
    mutating func restart(passphrase: SecureBytes? = nil) throws {
        try store.close()
        store = try ProfileStore.open(at: directory, passphrase: passphrase)
    }

    /// Loads the proton, seals `text` with it and records the step, as a send command would.
    func send(_ text: String, now: Date = testNow) throws -> OutboxItem {
        let protonID = try #require(protonID)
        var proton = try store.proton(protonID)
        let outgoing = try proton.seal(Array(text.utf8), now: now, random: SystemRandom())
        let ids = try store.recordOutgoing(
            protonID: protonID, updated: proton, body: Array(text.utf8), ciphertext: outgoing.ciphertext,
            routes: outgoing.routes, now: now)
        return try #require(try store.outbox(protonID: protonID).first { $0.id == ids.outboxID })
    }

    /// Loads the proton, opens what arrived and records the step, as a receive agent would.
    @discardableResult
    func receive(_ item: OutboxItem, now: Date = testNow) throws -> String {
        let protonID = try #require(protonID)
        var proton = try store.proton(protonID)
        let address = item.routes[0].address
        let received = try proton.open(item.ciphertext, at: address, now: now, random: SystemRandom())
        try store.recordIncoming(
            protonID: protonID, updated: proton, body: received.body, address: address, sequence: received.sequence, now: now)
        return String(decoding: received.body, as: UTF8.self)
    }

    func log() throws -> [String] {
        try store.messages(protonID: try #require(protonID)).map {
            ($0.direction == .incoming ? "< " : "> ") + String(decoding: $0.body, as: UTF8.self)
        }
    }
}

/// Alex and Blair, each with a profile in its own directory, paired through Blair's invite:
/// Alex scanned it and sent the first message (from Alex's outbox), Blair answered.
struct PairedProfiles {
    let directory: TemporaryDirectory
    var alex: Party
    var blair: Party

    init(passphrase: SecureBytes? = nil) throws {
        directory = try TemporaryDirectory()
        alex = try Party(directory: directory.child("alex"), name: "Alex", passphrase: passphrase)
        blair = try Party(directory: directory.child("blair"), name: "Blair", passphrase: passphrase)
        let routes = RouteFactory()

        let blairPersona = try blair.store.persona(blair.personaID)
        let prekey = X25519.PrivateKey()
        let inviteRoute = try routes.ownRoute()
        let invite = Invite(
            identity: blairPersona.identityKey, prekey: prekey.publicKey, route: inviteRoute.route,
            expires: testNow.addingTimeInterval(3600))

        let started = try Proton.initiate(
            persona: try alex.store.persona(alex.personaID), invite: try Invite(qrText: invite.qrText),
            ourRoutes: [try routes.ownRoute()], body: Array("hello Blair".utf8), now: testNow, random: SystemRandom())
        alex.protonID = try alex.store.startRelationship(
            personaID: alex.personaID, proton: started.proton, body: Array("hello Blair".utf8),
            initialMessage: started.initialMessage, now: testNow)

        let sent = try #require(try alex.store.outbox().first)
        #expect(sent.routes.map(\.address) == [inviteRoute.address])
        let answered = try Proton.respond(
            persona: blairPersona, initialMessage: try InitialMessage(decoding: sent.ciphertext), signedPrekey: prekey,
            oneTimePrekey: nil, context: .invite, firstContactRoute: inviteRoute, ourRoutes: [try routes.ownRoute()],
            now: testNow, random: SystemRandom())
        blair.protonID = try blair.store.acceptRelationship(
            personaID: blair.personaID, proton: answered.proton, body: answered.message.body,
            address: inviteRoute.address, now: testNow)
        try alex.store.removeFromOutbox(sent.id)
    }
}

/// Everything observable about a proton's state: the serialized secret state and every
/// skipped key, to check that a failed step changed nothing.
struct ProtonSnapshot: Equatable {
    let state: [UInt8]
    let skipped: [[UInt8]]

    init(_ proton: Proton) {
        state = proton.serializedState().unsafeExportedBytes()
        skipped = proton.skippedKeys.map { key in
            var bytes = key.headerKey.unsafeExportedBytes()
            withUnsafeBytes(of: key.messageNumber.bigEndian) { bytes.append(contentsOf: $0) }
            bytes += key.messageKey.unsafeExportedBytes()
            withUnsafeBytes(of: key.storedAt.timeIntervalSince1970.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
            return bytes
        }
    }
}

struct InjectedFailure: Error {}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return needle.isEmpty }
        for start in 0...(count - needle.count) where Array(self[start..<start + needle.count]) == needle { return true }
        return false
    }
}

func posixPermissions(_ url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    return try #require(attributes[.posixPermissions] as? Int)
}
