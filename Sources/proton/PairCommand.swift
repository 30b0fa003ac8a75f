import ArgumentParser
import Foundation
import ProtonClient
import ProtonBluetooth

/// `proton pair`: a relationship with someone in the same room, over Bluetooth RFCOMM. One side
/// listens, the other connects to it (by address, or by picking it from a scan); both run the
/// pairing handshake of docs/pairing.md, compare six digits, and store the new proton.
struct PairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pair",
        abstract: "Pair with a nearby laptop over Bluetooth: both screens show six digits to compare.",
        discussion: """
            One laptop runs 'proton pair --listen'; it publishes the Proton pairing service \
            (SDP, when bluetoothd runs with --compat) and waits. The other runs 'proton pair \
            --scan' to pick it from the devices nearby, or 'proton pair --connect ADDRESS'. \
            Both screens then show the same six digits; each person answers whether they \
            match. Only when both say yes is the contact stored, with a fresh address for it \
            at your receiving service.

            The link is not trusted: the handshake authenticates both identity keys and \
            encrypts everything, and the digits catch anyone in the middle. Bluetooth pairing \
            (bonding) of the two laptops is not needed.

            Each side may send an attestation of its name from a directory ('proton directory \
            register'): by default the persona's one if it has exactly one, --attestation \
            NAME@NS to choose, --no-attestation for none. The other side checks it against the \
            directories it has pinned and the key the handshake authenticated; when it \
            verifies, 'proton contacts' shows the contact as verified. An attestation that \
            does not verify leaves the contact unverified and says why; the pairing stands.

            Needs a receiving service ('proton services add receiving URL'). Exits 69 when this \
            system has no Bluetooth or no adapter, when the other device cannot be reached, or \
            when it stops answering; 65 when the numbers were not confirmed or the exchange was \
            tampered with; 64 for bad options. Hardware/README.md has the two-laptop procedure \
            and troubleshooting.
            """)

    @OptionGroup var profile: ProfileOptions

    @Flag(help: "Wait for the other device to connect.")
    var listen = false

    @Flag(help: "Look for nearby devices offering Proton pairing and pick one.")
    var scan = false

    @Option(help: ArgumentHelp("Connect to this device, e.g. 00:1A:7D:DA:71:13.", valueName: "address"))
    var connect: String?

    @Option(help: ArgumentHelp(
        "RFCOMM channel (1-30).",
        discussion: "Listening: the channel to listen on (default \(RFCOMM.defaultChannel)). Connecting: skip the SDP lookup and use this channel.",
        valueName: "n"))
    var channel: Int?

    @Option(help: ArgumentHelp("Local adapter to use, hci0 or its address (default: the first one that is up).", valueName: "adapter"))
    var adapter: String?

    @Option(help: ArgumentHelp("Pair as this persona, by name or id prefix (default: the first).", valueName: "persona"))
    var persona: String?

    @Flag(help: "Answer yes to 'Do the numbers match?' (for scripts and tests; compare the digits some other way).")
    var yes = false

    @Option(help: ArgumentHelp("Seconds to wait for the other device to connect or to answer.", valueName: "seconds"))
    var timeout: Int = 120

    @Option(help: ArgumentHelp("How long the scan's inquiry runs.", valueName: "seconds"))
    var inquirySeconds: Double = Inquiry.defaultSeconds

    @Option(help: ArgumentHelp("Send this attestation of the persona's name (default: its one, if it has exactly one).", valueName: "name@namespace"))
    var attestation: String?

    @Flag(help: "Send no attestation of the persona's name.")
    var noAttestation = false

    /// Pairs over a local stream socket instead of Bluetooth: with --listen it listens on the
    /// path, otherwise it connects to it. For tests on machines without Bluetooth.
    @Option(help: .hidden)
    var unixSocket: String?

    @Flag(help: "Print the result as JSON on stdout (progress and the digits go to stderr).")
    var json = false

    enum Mode {
        case listen
        case scan
        case connect(BluetoothAddress)
        case socket(path: String, listen: Bool)
    }

    func validate() throws {
        if attestation != nil && noAttestation { throw ValidationError("Choose --attestation NAME@NS or --no-attestation, not both.") }
        if unixSocket != nil {
            guard !scan, connect == nil else { throw ValidationError("--unix-socket goes with --listen or nothing.") }
        } else {
            let modes = [listen, scan, connect != nil].filter { $0 }.count
            guard modes == 1 else { throw ValidationError("Choose exactly one of --listen, --scan and --connect ADDRESS.") }
        }
        if let connect {
            do { _ = try BluetoothAddress(connect) } catch { throw ValidationError(error.description) }
        }
        if let channel {
            do { _ = try RFCOMM.validChannel(channel) } catch { throw ValidationError(error.description) }
            if scan { throw ValidationError("--channel goes with --listen or --connect; a scan finds the channel itself.") }
        }
        guard (1...3600).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 3600 seconds.") }
        guard (1...60).contains(inquirySeconds) else { throw ValidationError("--inquiry-seconds must be between 1 and 60.") }
    }

    var mode: Mode {
        if let unixSocket { return .socket(path: unixSocket, listen: listen) }
        if listen { return .listen }
        if scan { return .scan }
        return .connect(try! BluetoothAddress(connect!))
    }

    func run() async throws {
        let opened = try profile.open()
        defer { opened.close() }
        let terminal = PairTerminal(json: json)

        // Everything that needs no radio first, so that a missing service or persona is reported
        // before anyone waits for a device. From then on an address exists at our service; if
        // the pairing does not end in a stored contact, it is retired again.
        let stored = try await opened.persona(matching: persona)
        let presented = noAttestation ? nil : try await opened.attestationToPresent(for: stored, choice: attestation)
        guard try await !opened.storedServices().receiving.isEmpty else { throw CommandFailure(profile: .agent(.noReceivingService)) }
        let adapter: BluetoothAdapter? =
            unixSocket != nil ? nil : try bluetooth { () throws(BluetoothError) in try BluetoothAdapter.find(self.adapter) }
        let prepared = try await opened.preparePairing(as: stored, presenting: presented, confirmationTimeout: .seconds(timeout))
        if let adapter { terminal.info("Adapter: \(adapter)") }
        terminal.info("Pairing as \(stored.displayName) (\(stored.identityKey))")
        if let presented { terminal.info("Presenting the attestation of \(presented.attestation.qualifiedName)") }
        let clock = ContinuousClock()
        let connectStart = clock.now
        let (connection, role): (PairingConnection, Profile.PairingRole)
        do { (connection, role) = try await link(adapter: adapter, terminal: terminal) } catch {
            await opened.cancelPairing(prepared)
            throw error
        }
        defer { connection.close() }
        let connectMilliseconds = Self.milliseconds(connectStart.duration(to: clock.now))
        terminal.info("Connected to \(connection.peerDescription); running the handshake")

        let handshakeStart = clock.now
        let paired = try await opened.pair(
            prepared, over: connection.pairingChannel(timeout: .seconds(min(timeout, 30))), role: role
        ) { [yes, terminal] sas in await terminal.confirm(sas: sas, assumeYes: yes) }
        let report = PairReport(
            role: role, contact: paired.proton.peerDisplayName ?? "(no name)", relationshipID: paired.proton.relationshipID,
            protonID: paired.protonID.rawValue, persona: paired.persona.displayName,
            peerIdentityKey: paired.peerIdentity.rawRepresentation.base64URL, peerFingerprint: paired.peerIdentity.description,
            safetyNumber: paired.proton.safetyNumber.description, sas: paired.sas, peerAddress: connection.peerAddress?.description,
            adapter: adapter?.address.description ?? connection.peerDescription, connectMilliseconds: connectMilliseconds,
            handshakeMilliseconds: Self.milliseconds(handshakeStart.duration(to: clock.now)), peerAttestation: paired.peerAttestation)
        if json {
            try Output.json(report)
        } else {
            print("Paired with \(report.contact) (\(report.peerFingerprint)) as \(report.persona).")
            print("Relationship \(report.relationshipID); safety number \(report.safetyNumber)")
            print(report.peerAttestation.sentence)
            print("Handshake \(report.handshakeMilliseconds) ms after connecting. 'proton send \"\(report.contact)\" MESSAGE' talks to them through your services.")
        }
        try report.peerAttestation.throwIfForked()
    }

    /// Connects to the other device, or waits for it to connect.
    private func link(adapter: BluetoothAdapter?, terminal: PairTerminal) async throws -> (PairingConnection, Profile.PairingRole) {
        switch (mode, adapter) {
        case (.socket(let path, listen: true), _):
            terminal.info("Waiting for the other side on \(path) (up to \(timeout) s).")
            return (try await PairSocket.listen(at: path, timeout: timeout), .listener)
        case (.socket(let path, listen: false), _):
            return (try PairSocket.connect(to: path), .initiator)
        case (.listen, let adapter?):
            return (try await acceptOne(on: adapter, terminal: terminal), .listener)
        case (.connect(let address), let adapter?):
            let channel = try await channelOf(address, adapter: adapter, terminal: terminal)
            return (try await connectTo(address, channel: channel, adapter: adapter, terminal: terminal), .initiator)
        case (.scan, let adapter?):
            let (address, channel) = try await pick(adapter: adapter, terminal: terminal)
            return (try await connectTo(address, channel: channel, adapter: adapter, terminal: terminal), .initiator)
        default:
            throw CommandFailure(status: .software, message: "No Bluetooth adapter was chosen.")
        }
    }

    // MARK: - The three ways to a connection

    private func acceptOne(on adapter: BluetoothAdapter, terminal: PairTerminal) async throws -> PairingConnection {
        let requested = try channel.map { value in try bluetooth { () throws(BluetoothError) in try RFCOMM.validChannel(value) } }
        let listener = try bluetooth { () throws(BluetoothError) in
            try RFCOMMListener(adapter: adapter, channel: requested, fallBackToAnyChannel: true)
        }
        defer { listener.close() }
        var record: ServiceRecord?
        do {
            record = try ProtonService.register(channel: listener.channel)
            terminal.info("SDP record published: service \(ProtonService.uuid.uuidString.lowercased()) on RFCOMM channel \(listener.channel)")
        } catch {
            if requested == nil && listener.channel != RFCOMM.defaultChannel {
                listener.close()
                throw CommandFailure(
                    status: .unavailable,
                    message: "RFCOMM channel \(RFCOMM.defaultChannel) is taken and SDP cannot publish another one (\(error.description.lowercasedFirst)); choose a free channel with --channel and give it to the other side.")
            }
            terminal.info("SDP not available, so the service is not published (\(error.description.lowercasedFirst)); the other device finds it only by address: proton pair --connect \(adapter.address)\(listener.channel == RFCOMM.defaultChannel ? "" : " --channel \(listener.channel)")")
        }
        defer { record?.close() }
        terminal.info("Waiting for the other device on RFCOMM channel \(listener.channel) of \(adapter.name) (up to \(timeout) s).")
        terminal.info("On the other laptop: proton pair --scan, or proton pair --connect \(adapter.address)")
        return try await bluetoothAsync { () async throws(BluetoothError) in try await listener.accept(timeout: .seconds(timeout)) }
    }

    /// The channel to connect to: --channel, else the one the device publishes through SDP, else
    /// the default channel when the device has no SDP record for us (a listener without SDP).
    private func channelOf(_ address: BluetoothAddress, adapter: BluetoothAdapter, terminal: PairTerminal) async throws -> UInt8 {
        if let channel { return try bluetooth { () throws(BluetoothError) in try RFCOMM.validChannel(channel) } }
        terminal.info("Asking \(address) for the Proton pairing service (SDP)…")
        do {
            let found = try await ProtonService.findChannel(on: address, from: adapter, timeout: .seconds(min(timeout, 30)))
            terminal.info("\(address) offers Proton pairing on RFCOMM channel \(found)")
            return found
        } catch .serviceNotFound {
            terminal.info("\(address) publishes no Proton SDP record; trying the default channel \(RFCOMM.defaultChannel)")
            return RFCOMM.defaultChannel
        } catch {
            throw CommandFailure(bluetooth: error)
        }
    }

    private func connectTo(
        _ address: BluetoothAddress, channel: UInt8, adapter: BluetoothAdapter, terminal: PairTerminal
    ) async throws -> PairingConnection {
        terminal.info("Connecting to \(address) on RFCOMM channel \(channel)…")
        return try await bluetoothAsync { () async throws(BluetoothError) in
            try await RFCOMM.connect(to: address, channel: channel, from: adapter, timeout: .seconds(min(timeout, 60)))
        }
    }

    private func pick(adapter: BluetoothAdapter, terminal: PairTerminal) async throws -> (BluetoothAddress, UInt8) {
        terminal.info("Scanning for nearby devices (about \(Int(inquirySeconds.rounded())) s; they must be discoverable)…")
        let devices = try await bluetoothAsync { () async throws(BluetoothError) in
            try await Inquiry.scan(adapter: adapter, seconds: inquirySeconds) { progress in terminal.scanProgress(progress) }
        }
        terminal.endProgress()
        let offering = devices.filter { $0.protonChannel != nil }
        let others = devices.count - offering.count
        guard !offering.isEmpty else {
            throw CommandFailure(
                status: .unavailable,
                message: devices.isEmpty
                    ? "No discoverable device was found nearby; on the other laptop run 'bluetoothctl discoverable on' and 'proton pair --listen', then scan again."
                    : "\(Output.plural(devices.count, "device")) nearby, but none offers Proton pairing; run 'proton pair --listen' on the other laptop (with bluetoothd --compat for SDP), or connect by address with --connect.")
        }
        terminal.info("Devices offering Proton pairing:")
        for (index, device) in offering.enumerated() {
            terminal.info("  \(index + 1)  \(device.address)  \(device.name ?? "(no name)")  channel \(device.protonChannel!)")
        }
        if others > 0 { terminal.info("  (\(Output.plural(others, "other device")) nearby without the Proton service)") }
        let choice = await terminal.choose(count: offering.count)
        guard let choice else {
            throw CommandFailure(status: .usage, message: "No device was chosen; answer with a number from the list.")
        }
        let device = offering[choice - 1]
        return (device.address, device.protonChannel!)
    }

    // MARK: - Helpers

    private func bluetooth<T>(_ body: () throws(BluetoothError) -> T) throws -> T {
        do { return try body() } catch { throw CommandFailure(bluetooth: error) }
    }

    private func bluetoothAsync<T>(_ body: () async throws(BluetoothError) -> T) async throws -> T {
        do { return try await body() } catch { throw CommandFailure(bluetooth: error) }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

extension String {
    var lowercasedFirst: String {
        guard let first else { return self }
        return first.lowercased() + dropFirst()
    }
}
