import ArgumentParser
import Foundation
import ProtonClient

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a message to a contact through your sending services.",
        discussion: """
            The message is sealed, saved in the profile's outbox, and handed to one of your \
            sending services for one of the contact's current addresses, failing over across \
            both. When it is your turn to rotate, a fresh address at one of your receiving \
            services goes with it. Without MESSAGE the message is read from standard input. \
            A message that cannot be delivered now stays in the outbox (exit status 75) and is \
            retried by the next 'proton send' or 'proton receive'. Exits with status 69 when \
            no sending service is configured.
            """)

    @OptionGroup var profile: ProfileOptions

    @Argument(help: ArgumentHelp("A contact's name or the start of its relationship id.", valueName: "contact"))
    var contact: String

    @Argument(help: ArgumentHelp("The message; read from standard input when left out.", valueName: "message"))
    var message: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    struct Report: Encodable {
        let contact: String
        let relationshipID: String
        let messageID: Int64
        let delivered: Bool
        let rotated: Bool
        let events: [String]
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        guard try await !opened.storedServices().sending.isEmpty else { throw CommandFailure(profile: .agent(.noSendingService)) }
        let summary = try await opened.contact(matching: contact)
        let body = try readBody()
        let sent = try await opened.send(Array(body.utf8), to: summary.id)
        let name = summary.peerDisplayName ?? summary.relationshipID
        if json {
            try Output.json(
                Report(
                    contact: name, relationshipID: summary.relationshipID, messageID: sent.messageID, delivered: sent.delivered,
                    rotated: sent.rotatedTo != nil, events: sent.events.map(\.description)))
        } else {
            for event in sent.events where !Self.isDelivery(event) { print("  \(event.description.sentence)") }
            if let route = sent.rotatedTo {
                print("Offered \(name) a fresh address \(route.address.hex.prefix(8))… at \(route.serviceURI).")
            }
            if let delivered = sent.events.first(where: Self.isDelivery) { print("Sent to \(name): \(delivered).") }
        }
        guard sent.delivered else {
            let reason = sent.events.compactMap { event -> String? in
                if case .deferred(_, _, _, let reason) = event { reason } else { nil }
            }.last ?? "no route answered"
            throw CommandFailure(
                status: .temporaryFailure,
                message: "The message to \(name) is saved in the outbox but not delivered yet (\(reason)); "
                    + "the next 'proton send' or 'proton receive' retries it.")
        }
    }

    private static func isDelivery(_ event: DeliveryEvent) -> Bool {
        if case .delivered = event { true } else { false }
    }

    private func readBody() throws -> String {
        if let message { return message }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else {
            throw CommandFailure(status: .usage, message: "There is no message: give it after the contact or on standard input.")
        }
        return text
    }
}
