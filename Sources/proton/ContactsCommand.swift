import ArgumentParser
import Foundation
import ProtonClient
import ProtonCore
import ProtonStore

struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "List your relationships.",
        discussion: """
            One line per relationship: the name the peer gave, the relationship id (the same on \
            both sides), the start of the safety number, how many addresses each side can \
            currently be reached at, where the address rotation stands, and whether the \
            contact is blocked. Compare the full safety number with 'proton show CONTACT'.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let opened = try profile.openForReading()
        defer { opened.close() }
        let now = Date()
        let directories = (try? await opened.directoryTrust()) ?? DirectoryTrust()
        let entries = try await opened.contacts().map {
            ContactListEntry($0, now: now, names: directories.nameStatus(of: $0.proton.peerIdentity, now: now))
        }
        if json {
            try Output.json(entries)
            return
        }
        guard !entries.isEmpty else {
            print("No contacts yet.")
            return
        }
        Output.table(
            ["CONTACT", "PERSONA", "RELATIONSHIP", "SAFETY NUMBER", "ROUTES OURS/THEIRS", "ROTATION", "STATUS"],
            entries.map { entry in
                [
                    entry.name ?? "(no name yet)", entry.persona ?? "?", entry.relationshipID, entry.safetyNumberPrefix + " …",
                    "\(entry.routes.ours)/\(entry.routes.theirs)", entry.rotationSummary,
                    entry.blocked ? "blocked" : entry.verifiedName.map { "verified \($0)" } ?? entry.pendingName.map { "pending \($0)" } ?? "unverified",
                ]
            })
    }
}

/// One line of `contacts --json`.
struct ContactListEntry: Encodable {
    struct Routes: Encodable {
        /// Our addresses at which this peer can reach us now.
        let ours: Int
        /// The peer's routes we know.
        let theirs: Int
    }

    struct Rotation: Encodable {
        let messagesSinceRotation: Int
        let messagesPerAddress: Int
        let pendingUpdates: Int
        let offerPending: Bool
        let due: Bool
    }

    let name: String?
    let persona: String?
    let relationshipID: String
    let safetyNumberPrefix: String
    /// Whether a pinned attesting directory's stored attestation for the peer's key verifies.
    let verified: Bool
    /// The attested name@namespace, when verified.
    let verifiedName: String?
    /// The name@namespace of an attestation whose checkpoint still awaits the directory's
    /// consistency proof: not verified.
    let pendingName: String?
    let routes: Routes
    let rotation: Rotation
    let blocked: Bool

    init(_ contact: Contact, now: Date, names: (verified: String?, pending: String?) = (nil, nil)) {
        let proton = contact.proton
        let rotation = RotationEntry(proton, now: now)
        name = proton.peerDisplayName
        persona = contact.persona?.displayName
        relationshipID = proton.relationshipID
        safetyNumberPrefix = proton.safetyNumber.prefix
        verified = names.verified != nil
        verifiedName = names.verified
        pendingName = names.pending
        routes = Routes(ours: proton.receivingAddresses(now: now).count, theirs: proton.peerRoutes.count)
        self.rotation = Rotation(
            messagesSinceRotation: rotation.messagesSinceRotation, messagesPerAddress: rotation.policy.messagesPerAddress,
            pendingUpdates: rotation.pendingUpdates.count, offerPending: rotation.offerPending, due: rotation.due)
        blocked = proton.isBlocked
    }

    var rotationSummary: String {
        var text = "\(rotation.messagesSinceRotation)/\(rotation.messagesPerAddress) messages"
        if rotation.offerPending { text += ", new address offered" } else if rotation.due { text += ", due" }
        if rotation.pendingUpdates > 0 { text += ", \(rotation.pendingUpdates) pending" }
        return text
    }
}

/// How `show` words a contact's name status.
enum NameStatusText {
    static func describe(verified: String?, pending: String?) -> String {
        if let verified { return "yes, \(verified)" }
        if let pending {
            return "pending: \(pending)'s attestation verifies, but its checkpoint is not yet proven consistent with the directory's log ('proton directory audit')"
        }
        return "no (no directory attestation)"
    }
}
