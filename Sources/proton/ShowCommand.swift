import ArgumentParser
import Foundation
import ProtonClient

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one relationship: safety number, identity, routes and address rotation.",
        discussion: """
            CONTACT is the name the peer gave (any case) or the start of the relationship id \
            that 'proton contacts' lists. Read the safety number to your contact, in person or \
            on a call you trust: if both of you see the same sixty digits, nobody sits between \
            you. Exits with status 67 when no contact matches.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("A contact's name or the start of its relationship id.", valueName: "contact"))
    var contact: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let opened = try profile.openForReading()
        defer { opened.close() }
        let loaded = try await opened.contact(opened.contact(matching: contact).id)
        let now = Date()
        let directories = (try? await opened.directoryTrust()) ?? DirectoryTrust()
        let detail = ContactDetail(loaded, now: now, names: directories.nameStatus(of: loaded.proton.peerIdentity, now: now))
        if json {
            try Output.json(detail)
        } else {
            Self.printText(detail)
        }
    }

    private static func printText(_ detail: ContactDetail) {
        let name = detail.name ?? "(no name yet)"
        print("\(name) — relationship \(detail.relationshipID)\(detail.blocked ? " (blocked)" : "")")
        print("")
        print("Safety number:")
        for row in SafetyNumberRows(detail.safetyNumber).rows { print("    \(row)") }
        print("")
        print("Peer identity:   \(detail.peerFingerprint)  \(detail.peerIdentity)")
        print("Our persona:     \(detail.persona.displayName ?? detail.persona.id)")
        print("Name verified:   \(NameStatusText.describe(verified: detail.verifiedName, pending: detail.pendingName))")
        print("Established:     \(Output.date(detail.established)) (we were the \(detail.role))")
        print("Messages:        \(detail.messagesSent) sent, \(detail.messagesReceived) received")
        if let seen = detail.peerSentFromOldStateAt {
            print("Warning:         \(name)'s device sent from an old copy of its state (\(Output.date(seen))); what it sent then could not be read")
        }
        if let since = detail.unreadableSince {
            let what =
                detail.unreadableCount == 0
                ? "the receiving service says an address of ours in use was retired"
                : (detail.unreadableCount == 1 ? "1 message" : "\(detail.unreadableCount) messages")
                    + " at addresses only \(name) and the receiving service know could not be read"
            print("Warning:         since \(Output.date(since)), \(what): if this profile was restored from a backup or a snapshot, \(name)'s device has moved on past this copy and nothing it sends can be read here (start a new relationship); otherwise \(name) sent from a much older copy of its state, or the receiving service altered them")
        }
        if let reported = detail.weSentFromOldStateReportedAt {
            print("Warning:         \(name) says this profile sent from an old copy of its state (\(Output.date(reported))); messages sent since that copy was made may not have been read")
        }
        print("")
        print("Our routes (addresses only \(name) has):")
        if detail.ourRoutes.isEmpty { print("    none") }
        for route in detail.ourRoutes {
            var state = route.state ?? "?"
            if let since = route.since { state += " since \(Output.date(since))" }
            if route.firstContact == true { state += ", a key package's shared address" }
            print("    \(route.address)  at \(route.serviceURI)  \(state)")
        }
        print("Their routes (tried in this order):")
        if detail.theirRoutes.isEmpty { print("    none") }
        for route in detail.theirRoutes {
            print("    \(route.address)  at \(route.serviceURI)  added \(route.added.map(Output.date) ?? "?")")
        }
        print("")
        let rotation = detail.rotation
        let policy = rotation.policy
        print("Rotation:")
        print("    messages since last rotation: \(rotation.messagesSinceRotation) of \(policy.messagesPerAddress)")
        print("    last rotation:    \(Output.date(rotation.lastRotation))")
        print("    new address:      \(rotation.offerPending ? "offered, waiting for acknowledgement" : rotation.due ? "due" : "not due")")
        print("    pending updates:  \(rotation.pendingUpdates.isEmpty ? "none" : rotation.pendingUpdates.map(\.text).joined(separator: "; "))")
        print(
            "    policy:           a fresh address every \(Output.plural(policy.messagesPerAddress, "message")) or "
                + "\(Output.duration(TimeInterval(policy.addressLifetimeSeconds))); a replaced address is accepted "
                + "for \(Output.duration(TimeInterval(policy.retirementGraceSeconds))) more")
    }
}

/// The printed safety number, twelve groups of five in three rows.
private struct SafetyNumberRows {
    let rows: [String]

    init(_ grouped: String) {
        let groups = grouped.split(separator: " ")
        rows = stride(from: 0, to: groups.count, by: 4).map { groups[$0..<min($0 + 4, groups.count)].joined(separator: " ") }
    }
}
