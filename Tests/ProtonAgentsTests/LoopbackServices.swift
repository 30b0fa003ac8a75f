import Foundation
import ProtonTestSupport
import ProtonAgents
import ProtonServices
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two sending and two receiving services, real servers on loopback with their data in a
/// temporary directory, shared by both profiles. Receiving services listed in
/// `receivingProcesses` run as `proton serve receiving` child processes, so a test can kill
/// one with SIGKILL; the others run in-process.
final class LoopbackServices: @unchecked Sendable {
    let root: URL
    private(set) var receivingURLs: [String] = []
    var sending: [RunningService] = []
    private var inProcess: [Int: RunningService] = [:]
    private var children: [Int: ChildProcess] = [:]
    private var receivingDirectories: [URL] = []

    init(receivingProcesses: Set<Int> = []) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonAgentsE2E-\(UUID().uuidString)")
        for index in 0..<2 {
            let directory = root.appendingPathComponent("receiving-\(index)")
            receivingDirectories.append(directory)
            if receivingProcesses.contains(index) {
                let (process, url) = try Self.serveReceiving(listen: "127.0.0.1:0", data: directory)
                children[index] = process
                receivingURLs.append(url)
            } else {
                let service = try await ReceivingService.start(configuration: ReceivingServiceConfiguration(dataDirectory: directory))
                inProcess[index] = service
                receivingURLs.append(service.baseURL)
            }
            sending.append(
                try await SendingService.start(
                    configuration: SendingServiceConfiguration(
                        dataDirectory: root.appendingPathComponent("sending-\(index)"),
                        forwarding: ForwardingPolicy(initialBackoff: 0.2, maximumBackoff: 1, requestTimeout: 5, allowsPrivateTargets: true),
                        sendRateLimit: .unlimited)))
        }
    }

    var mailboxes: [any Mailbox] { receivingURLs.map { ReceivingServiceClient(serviceURI: $0) } }

    /// The relays through both sending services, waiting 500 ms for a forward (the agents'
    /// default is 10 s): a sending service slow under a loaded run then looks unavailable, the
    /// agent resends, and later messages can overtake earlier ones. The receive agent's
    /// hold-back puts them back in order; `OvertakeTests` forces overtakes on purpose.
    var relays: [any Relay] {
        sending.map { SendingServiceRelay(serviceURI: $0.baseURL, forwardingWait: .milliseconds(500)) }
    }

    /// Kills a child-process service with SIGKILL (no shutdown of any kind), or stops an
    /// in-process one.
    func stopReceiving(_ index: Int) async {
        if let child = children[index] {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
        } else {
            await inProcess[index]?.stop()
        }
    }

    /// Starts the receiving service again on the same port and data directory: same key, same
    /// messages, same URI in everybody's routes.
    func restartReceiving(_ index: Int) async throws {
        let port = try #require(URLComponents(string: receivingURLs[index])?.port)
        if children[index] != nil {
            children[index] = try Self.serveReceiving(listen: "127.0.0.1:\(port)", data: receivingDirectories[index]).process
        } else {
            inProcess[index] = try await ReceivingService.start(
                configuration: ReceivingServiceConfiguration(
                    listen: ListenAddress(host: "127.0.0.1", port: port), dataDirectory: receivingDirectories[index]))
        }
    }

    func stopAll() async {
        for child in children.values where child.isRunning {
            child.terminate()
            child.waitUntilExit()
        }
        for service in Array(inProcess.values) + sending { await service.stop() }
        try? FileManager.default.removeItem(at: root)
    }

    /// Runs `proton serve receiving` once it is bound.
    private static func serveReceiving(listen: String, data: URL) throws -> (process: ChildProcess, url: String) {
        try ProtonServe.start(["serve", "receiving", "--listen", listen, "--data", data.path])
    }
}
