import Foundation
import ProtonAgents
import ProtonServices
import ProtonTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two sending and two receiving services as an operator runs them on PostgreSQL: each service
/// is two `proton serve ... --database URL` processes sharing one database of the throw-away
/// cluster (`PROTON_TEST_DATABASE`), behind a round-robin TCP proxy whose address is the
/// service's URL. Both instances of a receiving service use one data directory, so one key.
final class SharedDatabaseServices: @unchecked Sendable {
    struct Service {
        let kind: String
        let database: String
        var instances: [ChildProcess]
        let proxy: RoundRobinProxy
    }

    let root: URL
    private(set) var receiving: [Service] = []
    private(set) var sending: [Service] = []
    private let socketDirectory: String

    init() async throws {
        let directory = try Self.clusterSocketDirectory()
        socketDirectory = directory
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonSharedDB-\(UUID().uuidString)")
        for index in 0..<2 {
            receiving.append(try await Self.start("receiving", index: index, root: root, socketDirectory: directory))
            sending.append(try await Self.start("sending", index: index, root: root, socketDirectory: directory))
        }
    }

    /// Where the throw-away cluster of `scripts/postgres run` listens.
    static func clusterSocketDirectory() throws -> String {
        guard let cluster = ProcessInfo.processInfo.environment["PROTON_TEST_DATABASE"], let location = PostgresLocation(cluster),
            case .unixSocket(let directory, _) = location.endpoint
        else {
            throw TestDatabaseMissing()
        }
        return directory
    }

    struct TestDatabaseMissing: Error, CustomStringConvertible {
        var description: String { "PROTON_TEST_DATABASE is not set: run the suite with `make test` or `scripts/postgres run swift test`." }
    }

    var mailboxes: [any Mailbox] { receiving.map { ReceivingServiceClient(serviceURI: $0.proxy.url) } }

    /// As `LoopbackServices.relays`: a short forwarding wait, so that a slow answer is resent.
    var relays: [any Relay] { sending.map { SendingServiceRelay(serviceURI: $0.proxy.url, forwardingWait: .milliseconds(500)) } }

    /// SIGKILL to the first instance of every service: its proxy sends new connections to the
    /// other one from then on.
    func killOneInstanceOfEach() {
        for service in receiving + sending {
            kill(service.instances[0].processIdentifier, SIGKILL)
            service.instances[0].waitUntilExit()
        }
    }

    /// Runs `sql` on one service's database with psql; the first column of each row.
    func query(_ service: Service, _ sql: String) throws -> [String] {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-h", socketDirectory, "-U", "proton", "-d", service.database, "-tA", "-c", sql]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func stopAll() async {
        for service in receiving + sending {
            for instance in service.instances where instance.isRunning {
                instance.terminate()
                instance.waitUntilExit()
            }
            await service.proxy.close()
        }
        try? FileManager.default.removeItem(at: root)
    }

    private static func start(_ kind: String, index: Int, root: URL, socketDirectory: String) async throws -> Service {
        let database = "e2e_\(kind)_\(index)_\(UUID().uuidString.prefix(8).lowercased())"
        try createDatabase(database, socketDirectory: socketDirectory)
        let url = "postgres://proton@/\(database)?host=\(socketDirectory)"
        let data = root.appendingPathComponent("\(kind)-\(index)")
        var instances: [ChildProcess] = []
        var ports: [Int] = []
        for _ in 0..<2 {
            var arguments = ["serve", kind, "--listen", "127.0.0.1:0", "--data", data.path, "--database", url]
            if kind == "sending" { arguments.append("--allow-private-targets") }
            let (process, port) = try serve(arguments)
            instances.append(process)
            ports.append(port)
        }
        return Service(kind: kind, database: database, instances: instances, proxy: try await RoundRobinProxy(backendPorts: ports))
    }

    static func createDatabase(_ name: String, socketDirectory: String) throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-h", socketDirectory, "-U", "proton", "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "psql could not create \(name)")
    }

    /// Runs `proton ARGUMENTS` once it is bound; returns its port.
    static func serve(_ arguments: [String]) throws -> (ChildProcess, Int) {
        let (process, url) = try ProtonServe.start(arguments)
        return (process, try #require(URLComponents(string: url)?.port))
    }
}
