import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A service's database meets the faults an operator's mistakes and a full disk cause: files
/// deleted or replaced under it, an empty or damaged file at start, a disk with no room left,
/// a stop by SIGTERM. Each is answered loudly and nothing acknowledged is silently lost.
@Suite struct DatabaseFaultTests {
    /// Deleting the WAL under a running receiving service used to lose every later message it
    /// answered 202 for: now the first write after it is answered 503 `storage_lost`, and the
    /// service stops.
    @Test func aDeletedWALIsNoticedBeforeTheAnswerAndStopsTheService() async throws {
        let receiving = try await ReceivingFixture.start()
        let owner = Owner()
        #expect(try await receiving.create(owner) == 201)
        #expect(try await receiving.deliver(owner.id).status == 202)

        try FileManager.default.removeItem(at: receiving.directory.appendingPathComponent("receiving.sqlite-wal"))
        let after = try await receiving.deliver(owner.id)
        #expect(after.status == 503)
        #expect(after.errorCode == "storage_lost")
        // And it stops by itself.
        let stopped = try await eventually(timeout: 10) { (try? await HTTP.request("GET", receiving.url + "/v1/info", timeout: 2)) == nil }
        #expect(stopped)
        await receiving.stop()
    }

    /// SIGTERM checkpoints and closes the database: the main file alone then holds everything,
    /// so a copy of it is a complete backup.
    @Test func aStopBySIGTERMLeavesEverythingInTheMainFile() async throws {
        let data = temporaryDirectory("sigterm")
        let served = try ServeProcessTests.ServeProcess.start("receiving", data: data)
        let info = try await HTTP.request("GET", served.url + "/v1/info").decode(ServiceAPI.ServiceInfo.self)
        let key = try SealedBox.PublicKey(rawRepresentation: Base64URL.decode(info.publicKey, limit: 32))
        let owner = Owner()
        let created = try await HTTP.request(
            "POST", served.url + "/v1/addresses", body: owner.createBody, headers: owner.headers("POST", "/v1/addresses", body: owner.createBody))
        #expect(created.status == 201)
        for index in 0..<5 {
            let envelope = try Envelope(
                sealing: [UInt8(index)], to: Route(serviceURI: served.url, serviceKey: key, address: owner.id), random: SystemRandom())
            let body = HTTP.json(
                ServiceAPI.Delivery(sealedAddress: Base64URL.encode(envelope.sealedAddress), ciphertext: Base64URL.encode(envelope.ciphertext)))
            #expect(try await HTTP.request("POST", served.url + "/v1/deliver", body: body).status == 202)
        }
        served.process.terminate()
        #expect(try await served.waitForExit())
        #expect(served.process.terminationStatus == 0)

        let wal = data.appendingPathComponent("receiving.sqlite-wal").path
        let walSize = (try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int ?? 0
        #expect(walSize == 0, "a \(walSize)-byte WAL was left")
        // A copy of the main file alone, as a careless backup takes it.
        let copy = temporaryDirectory("sigterm-copy").appendingPathComponent("receiving.sqlite")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: data.appendingPathComponent("receiving.sqlite").path, toPath: copy.path)
        let queue = try DatabaseQueue(path: copy.path)
        #expect(try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM message") } == 5)
        #expect(try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM address") } == 1)
    }

    /// An empty database file where one was (truncated, or replaced by an empty file) and a
    /// damaged one are refused at start with what is wrong, not served as an empty service
    /// nor reported as a failure to listen.
    @Test(arguments: [("empty", 65, "is empty"), ("garbage", 65, "not a readable SQLite database")])
    func aServiceDoesNotStartOnAnEmptyOrDamagedDatabase(_ kind: String, _ status: Int32, _ words: String) async throws {
        let data = temporaryDirectory("bad-db-\(kind)")
        let served = try ServeProcessTests.ServeProcess.start("receiving", data: data)
        served.process.terminate()
        #expect(try await served.waitForExit())
        let path = data.appendingPathComponent("receiving.sqlite").path
        let contents = kind == "empty" ? Data() : Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try contents.write(to: URL(fileURLWithPath: path))

        let process = ChildProcess()
        process.executableURL = try ServeProcessTests.ServeProcess.executable()
        process.arguments = ["serve", "receiving", "--listen", "127.0.0.1:0", "--data", data.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try await process.runUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == status, "\(message)")
        #expect(message.contains(words), "\(message)")
        #expect(!message.contains("could not listen"))
    }

    /// A full disk is 503 `disk_full` (nothing stored, try later), never a bare 500; what was
    /// answered 202 before is all there, and once there is room again deliveries succeed.
    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a small tmpfs"))
    func aFullDiskIsAnsweredWithACodeAndLosesNothingAcknowledged() async throws {
        let disk = try SmallDisk(kilobytes: 2048)
        let receiving = try await ReceivingFixture.start(
            directory: disk.url.appendingPathComponent("receiving"),
            limits: ReceivingServiceLimits(maximumMessagesPerAddress: 100_000, maximumBytesPerAddress: 1 << 30))
        let owner = Owner()
        #expect(try await receiving.create(owner) == 201)
        for _ in 0..<5 { #expect(try await receiving.deliver(owner.id).status == 202) }
        disk.fill()
        var accepted = 5
        var refusal: HTTPAnswer?
        for index in 0..<400 {
            let answer = try await receiving.deliver(owner.id, ciphertext: [UInt8](repeating: UInt8(index % 251), count: 16 << 10))
            if answer.status == 202 { accepted += 1 } else { refusal = answer; break }
        }
        let refused = try #require(refusal, "the disk never filled")
        #expect(refused.status == 503)
        #expect(refused.errorCode == "disk_full")

        disk.makeRoom()
        let fetched = try await receiving.fetch(owner, wait: 0).decode(ServiceAPI.Messages.self)
        #expect(fetched.messages.count == min(accepted, fetched.messages.count))
        var all = fetched.messages.count
        var after = fetched.messages.last?.id ?? 0
        while all < accepted {
            let more = try await receiving.fetch(owner, after: after, wait: 0).decode(ServiceAPI.Messages.self)
            guard let last = more.messages.last else { break }
            all += more.messages.count
            after = last.id
        }
        #expect(all == accepted, "\(accepted) answered 202, \(all) stored")
        #expect(try await receiving.deliver(owner.id).status == 202)
        await receiving.stop()
        disk.unmount()
    }
}

/// A body sent a byte at a time is cut off: 408 `body_too_slow` once the body timeout passes,
/// instead of holding the connection for as long as the client likes.
@Suite struct SlowBodyTests {
    @Test func aTrickledBodyIsCutOff() async throws {
        let receiving = try await ReceivingFixture.start(limits: ReceivingServiceLimits(bodyTimeout: 1))
        let port = try #require(URLComponents(string: receiving.url)?.port)
        let answer: String = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else {
                    continuation.resume(throwing: CocoaError(.fileReadUnknown))
                    return
                }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let head = "POST /v1/deliver HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                _ = head.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                // A byte every 200 ms: never idle, never done.
                for _ in 0..<40 {
                    _ = send(descriptor, "{", 1, Int32(MSG_NOSIGNAL))
                    var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    if Glibc.poll(&poll, 1, 200) > 0 {
                        let count = recv(descriptor, &buffer, buffer.count, 0)
                        if count > 0 { received += buffer[0..<count] }
                        break
                    }
                }
                close(descriptor)
                continuation.resume(returning: String(decoding: received, as: UTF8.self))
            }
        }
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("body_too_slow"))
        await receiving.stop()
    }
}
