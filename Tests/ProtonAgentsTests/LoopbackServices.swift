import Foundation
import ProtonAgents
import ProtonServices

/// Two sending and two receiving services, real servers on loopback port 0 with their data in
/// a temporary directory, shared by both profiles.
final class LoopbackServices: @unchecked Sendable {
    let root: URL
    var receiving: [RunningService] = []
    var sending: [RunningService] = []
    private var receivingDirectories: [URL] = []

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonAgentsE2E-\(UUID().uuidString)")
        for index in 0..<2 {
            let directory = root.appendingPathComponent("receiving-\(index)")
            receivingDirectories.append(directory)
            receiving.append(try await ReceivingService.start(configuration: ReceivingServiceConfiguration(dataDirectory: directory)))
            sending.append(
                try await SendingService.start(
                    configuration: SendingServiceConfiguration(
                        dataDirectory: root.appendingPathComponent("sending-\(index)"),
                        forwarding: ForwardingPolicy(initialBackoff: 0.2, maximumBackoff: 1, requestTimeout: 5))))
        }
    }

    var mailboxes: [any Mailbox] { receiving.map { ReceivingServiceClient(serviceURI: $0.baseURL) } }

    var relays: [any Relay] {
        sending.map { SendingServiceRelay(serviceURI: $0.baseURL, forwardingWait: .milliseconds(500)) }
    }

    func stopReceiving(_ index: Int) async { await receiving[index].stop() }

    /// Starts the receiving service again on the same port and data directory: same key, same
    /// messages, same URI in everybody's routes.
    func restartReceiving(_ index: Int) async throws {
        let port = receiving[index].port
        receiving[index] = try await ReceivingService.start(
            configuration: ReceivingServiceConfiguration(
                listen: ListenAddress(host: "127.0.0.1", port: port), dataDirectory: receivingDirectories[index]))
    }

    func stopAll() async {
        for service in receiving + sending { await service.stop() }
        try? FileManager.default.removeItem(at: root)
    }
}
