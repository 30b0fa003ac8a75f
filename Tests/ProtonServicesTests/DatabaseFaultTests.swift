import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import ProtonServices
import ProtonTestSupport
import Testing

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

        let process = Process()
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
