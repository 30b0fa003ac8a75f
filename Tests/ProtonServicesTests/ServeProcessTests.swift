import Foundation
import ProtonTestSupport
import ProtonCore
import ProtonServices
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `proton serve` as a real process: the `listening on` line, graceful SIGTERM, and an outbox
/// that survives kill -9.
@Suite struct ServeProcessTests {
    /// A running `proton serve` child process and the URL it printed.
    struct ServeProcess {
        let process: ChildProcess
        let url: String

        /// A sending service is allowed loopback targets unless `allowPrivateTargets` is false.
        static func start(_ kind: String, data: URL, allowPrivateTargets: Bool = true) throws -> ServeProcess {
            // The first line is all the command ever prints on standard output.
            let (process, url) = try ProtonServe.start(
                ["serve", kind, "--listen", "127.0.0.1:0", "--data", data.path]
                    + (kind == "sending" && allowPrivateTargets ? ["--allow-private-targets"] : []))
            return ServeProcess(process: process, url: url)
        }

        static func executable() throws -> URL { try ProtonBinary.url() }

        func waitForExit(timeout: TimeInterval = 15) async throws -> Bool {
            try await eventually(timeout: timeout) { !process.isRunning }
        }
    }

    @Test func serveReceivingListensAndStopsGracefullyOnSIGTERM() async throws {
        let data = temporaryDirectory("serve-receiving")
        let served = try ServeProcess.start("receiving", data: data)
        let info = try await HTTP.request("GET", served.url + "/v1/info")
        #expect(info.status == 200)
        served.process.terminate()
        #expect(try await served.waitForExit())
        #expect(served.process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("service-key").path))
    }

    @Test func sendingServiceKilledBeforeForwardingDeliversAfterRestart() async throws {
        let receivingData = temporaryDirectory("kill-receiving")
        let receiving = try await ReceivingFixture.start(directory: receivingData)
        let owner = Owner()
        try await receiving.create(owner)
        let envelope = try receiving.sealed(owner.id, ciphertext: [4, 2])
        let port = receiving.running.port
        await receiving.stop()

        // Accepted while the receiving service is down, so it is still queued when killed.
        let sendingData = temporaryDirectory("kill-sending")
        let first = try ServeProcess.start("sending", data: sendingData)
        let send = ServiceAPI.Send(
            receivingService: receiving.url, serviceKey: Base64URL.encode(receiving.serviceKey.rawRepresentation), sealedAddress: Base64URL.encode(envelope.sealedAddress),
            ciphertext: Base64URL.encode(envelope.ciphertext))
        let accepted = try await HTTP.request("POST", first.url + "/v1/send", body: HTTP.json(send))
        #expect(accepted.status == 202)
        let id = try accepted.decode(ServiceAPI.SendStatus.self).id
        kill(first.process.processIdentifier, SIGKILL)
        #expect(try await first.waitForExit())

        let restartedReceiving = try await ReceivingFixture.start(directory: receivingData, port: port)
        let second = try ServeProcess.start("sending", data: sendingData)
        let delivered = try await eventually(timeout: 30) {
            try await HTTP.request("GET", second.url + "/v1/send/\(id)").decode(ServiceAPI.SendStatus.self).state == .delivered
        }
        #expect(delivered)
        let messages = try await restartedReceiving.fetch(owner).decode(ServiceAPI.Messages.self).messages
        #expect(messages.map(\.ciphertext) == [Base64URL.encode([4, 2])])
        second.process.terminate()
        _ = try await second.waitForExit()
        await restartedReceiving.stop()
    }
}
