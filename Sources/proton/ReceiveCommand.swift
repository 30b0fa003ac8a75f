import ArgumentParser
import Foundation
import ProtonClient

struct ReceiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Fetch and decrypt what your receiving services hold for you.",
        discussion: """
            Polls every address you gave any contact at every receiving service, records each \
            message with its ratchet step, and only then acknowledges it to the service; a \
            message delivered twice is dropped. Messages in your outbox whose retry time has \
            come are sent too. With --watch it keeps long-polling until interrupted, printing \
            messages as they arrive (with --json, one JSON object per line); with pinned \
            directories it also settles attestations presented while offline and watches your \
            own names ('proton directory monitor') when it starts and once a day, saying what it \
            finds on standard error. Checkpoints your contacts gossip are weighed against yours: \
            two trees of one size signed by a directory you pin are kept as evidence and exit 76. \
            Exits with status \
            69 when no receiving service is configured or none could be reached, and 74 when the \
            profile could not record a message (a full disk, say): it stays at its service and \
            arrives on a later run.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Keep waiting for messages until interrupted.")
    var watch = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "Seconds each poll waits for a message to arrive (default: 0, or 25 with --watch).")
    var wait: Int?

    struct Received: Encodable {
        let contact: String
        let relationshipID: String
        let body: String
        let address: String
        let received: Date
    }

    func validate() throws {
        if let wait, !(0...60).contains(wait) { throw ValidationError("--wait must be between 0 and 60 seconds.") }
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let receiving = try await opened.storedServices().receiving.map(\.uri)
        guard !receiving.isEmpty else { throw CommandFailure(profile: .agent(.noReceivingService)) }
        try await opened.checkServices()
        var summaries = Dictionary(uniqueKeysWithValues: try await opened.contactSummaries().map { ($0.id, $0) })
        // Keep a few addresses registered for offline invites and replies (see 'proton accept --offline').
        await opened.replenishSpareAddresses()
        let seconds = wait ?? (watch ? 25 : 0)
        var collected: [Received] = []
        var damaged: Set<String> = []
        var unrecorded: [String] = []
        var forks = 0
        var directoryDuties: ContinuousClock.Instant?
        repeat {
            if watch, directoryDuties.map({ $0.duration(to: .now) >= Self.directoryDutyInterval }) ?? true {
                directoryDuties = .now
                await directoryDuty(opened)
            }
            // A profile whose files were deleted or replaced underneath is not written to again.
            await report(try await opened.flush())
            let events = try await opened.receive(wait: seconds)
            var failures: [String] = []
            var refusals: [String] = []
            // Services, not events: one service failing at many addresses is one service.
            var failedServices: Set<String> = []
            var refusingServices: Set<String> = []
            var storeFailed = false
            for event in events {
                switch event {
                case .received(let protonID, _, let body, let address, let at):
                    // An acceptance without a first message.
                    if body.isEmpty { continue }
                    if summaries[protonID]?.peerDisplayName == nil {
                        // The peer's name comes with their first message.
                        summaries = Dictionary(uniqueKeysWithValues: try await opened.contactSummaries().map { ($0.id, $0) })
                    }
                    let summary = summaries[protonID]
                    let entry = Received(
                        contact: summary?.peerDisplayName ?? "(no name yet)", relationshipID: summary?.relationshipID ?? "",
                        body: String(decoding: body, as: UTF8.self), address: address.hex, received: at)
                    if json && watch {
                        try Output.jsonLine(entry)
                    } else if json {
                        collected.append(entry)
                    } else {
                        print("\(Output.date(at))  \(entry.contact): \(TerminalText.body(entry.body))")
                    }
                case .serviceFailed(let uri, let error):
                    failures.append("\(uri): \(error)")
                    failedServices.insert(uri)
                    if case .rejected(_, let reason) = error {
                        refusals.append("\(uri): \(reason)")
                        refusingServices.insert(uri)
                    }
                case .relationshipStarted(let protonID, let name, _, _):
                    // Someone accepted an invite of ours; their first message follows (as
                    // `.received`, which then loads the new contact's summary).
                    if !json { try await announce(protonID, "\(name ?? "Someone") accepted your invite", in: opened) }
                case .connected(let protonID, let name, let ownName, _, _):
                    // Someone connected through the key package we published; likewise.
                    if !json { try await announce(protonID, "\(name ?? "Someone") connected to \(ownName)", in: opened) }
                case .duplicateDropped, .addressRetiredAtService:
                    break
                case .undecryptable:
                    note(event.description + "; 'proton show' tells whether this profile is an old copy")
                case .directoryForked:
                    forks += 1
                    note(event.description)
                case .relationshipDamaged(let protonID, _):
                    damaged.insert(protonID.rawValue)
                    note(event.description)
                case .storeFailed(let reason):
                    unrecorded.append(reason)
                    storeFailed = true
                    note(event.description)
                default:
                    note(event.description)
                }
            }
            if !watch, !failures.isEmpty, failedServices.isSuperset(of: receiving) {
                if json { try Output.json(collected) }
                // Reached but refused (a clock that is off, say) is not "could not be reached".
                if refusingServices == failedServices {
                    throw CommandFailure(status: .unavailable, message: "Every receiving service refused the request (\(refusals[0])).")
                }
                throw CommandFailure(status: .unavailable, message: "No receiving service could be reached (\(failures[0])).")
            }
            for failure in failures { note(failure) }
            // A service that failed or a profile that cannot write is not asked again at once.
            if watch, !failures.isEmpty || storeFailed { try await Task.sleep(for: .seconds(2)) }
        } while watch
        if json { try Output.json(collected) }
        if let reason = unrecorded.first {
            throw CommandFailure(
                status: .ioError,
                message: "The profile could not record what arrived (\(reason)); it stays at the receiving service and arrives on a later 'proton receive'.")
        }
        if forks > 0 {
            throw CommandFailure(
                status: .directoryMisbehaved,
                message: "A checkpoint a contact gossiped shows that a directory you pin signed two different logs; do not trust its names until this is explained.")
        }
        if !damaged.isEmpty {
            throw CommandFailure(
                status: .dataError,
                message: "\(damaged.count) relationship\(damaged.count == 1 ? "'s" : "s'") stored state could not be read; the others were received.")
        }
    }

    /// One line for a relationship someone else started: its id and the safety number to compare.
    private func announce(_ protonID: ProtonID, _ what: String, in opened: Profile) async throws {
        let proton = try await opened.contact(protonID).proton
        print("\(what): relationship \(proton.relationshipID). Safety number (compare it with theirs): \(proton.safetyNumber)")
    }

    private func report(_ events: [DeliveryEvent]) async {
        for event in events {
            if case .delivered = event { continue }
            note(event.description)
        }
    }

    /// Something worth knowing that is not the command failing: stderr, one line.
    /// How often `--watch` settles pending attestations and watches this profile's names.
    static let directoryDutyInterval: Duration = .seconds(86_400)

    /// With pinned directories: settles the attestations presented while offline, and reads
    /// the new log entries about this profile's names (`proton directory monitor`). Findings
    /// and failures are said on standard error; the watch goes on.
    private func directoryDuty(_ opened: Profile) async {
        guard let trust = try? await opened.directoryTrust(), !trust.directories.isEmpty else { return }
        do {
            for (_, settlement) in try await opened.settleAttestations() {
                for fork in settlement.forks { fork.report() }
            }
            for scan in try await opened.monitorNames() {
                for finding in scan.findings {
                    note(
                        "\(scan.pinned.url) logged \(finding.kind) of \(finding.name) for the key \(finding.identityKey), which is not yours (log index \(finding.logIndex)); 'proton directory monitor --json' shows the entry and its proof")
                }
            }
        } catch {
            note("the directories could not be checked (\(error)); they are checked again in a day")
        }
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data("proton: \(TerminalText.line(text.sentence))\n".utf8))
    }
}

extension Output {
    /// One compact JSON object on one line, for streams.
    static func jsonLine(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Written straight to the descriptor: print's buffer would hold lines back from a pipe.
        FileHandle.standardOutput.write(Data(TerminalText.escapedJSON(String(decoding: try encoder.encode(value), as: UTF8.self)).utf8) + Data("\n".utf8))
    }
}
