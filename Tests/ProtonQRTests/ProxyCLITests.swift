import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// `--proxy socks5://…`: every request of the agents goes through the proxy, by name, and each
/// address is fetched (and each destination sent to) with credentials of its own, which is what
/// Tor isolates circuits on. The proxy here is a SOCKS5 server in the test that demands
/// username/password authentication (RFC 1929) and records each tunnel.
@Suite("proxy with real processes", .serialized)
struct ProxyCLITests {
    @Test func receiveAndSendGoThroughTheProxyWithOneCredentialPerAddress() async throws {
        let sandbox = try await InviteSandbox.paired()
        let socks = try await TestSOCKSServer.start()
        let proxy = "socks5://127.0.0.1:\(socks.port)"
        let receivingPort = try #require(URLComponents(string: sandbox.receivingURL)?.port)
        let sendingPort = try #require(URLComponents(string: sandbox.sendingURL)?.port)

        // Blair learns Alex's name, then makes two new addresses for Alex: three to fetch.
        try await sandbox.require(sandbox.run("Alex", "send", "Blair", "hello"))
        try await sandbox.require(sandbox.run("Blair", "receive"))
        try await sandbox.require(sandbox.run("Blair", "rotate", "Alex"))
        try await sandbox.require(sandbox.run("Blair", "rotate", "Alex"))
        let sent = try await sandbox.run("Alex", "send", "Blair", "through the proxy", "--proxy", proxy)
        try #require(sent.status == 0, "\(sent.status) \(sent.stderr) \(sent.stdout)")
        let received = try await sandbox.require(sandbox.run("Blair", "receive", "--proxy", proxy))
        #expect(received.stdout.contains("Alex: through the proxy"))

        let tunnels = socks.tunnels
        // Every tunnel authenticated and asked for a service by its name as given.
        #expect(!tunnels.isEmpty)
        #expect(tunnels.allSatisfy { $0.host == "127.0.0.1" && [receivingPort, sendingPort].contains($0.port) })
        #expect(tunnels.contains { $0.port == sendingPort }, "the send did not use the proxy")
        // One credential never serves two services...
        let byUser = Dictionary(grouping: tunnels, by: \.username)
        #expect(byUser.values.allSatisfy { Set($0.map(\.port)).count == 1 })
        // ...and each of Blair's addresses was fetched with a credential of its own.
        let receivingUsers = Set(tunnels.filter { $0.port == receivingPort }.map(\.username))
        #expect(receivingUsers.count >= 3, "\(receivingUsers.count) credentials for \(tunnels.count) tunnels")

        // The same environment without a proxy that answers fails as unreachable, so nothing
        // went around it.
        await socks.stop()
        let refused = try await sandbox.run("Blair", "receive", "--proxy", proxy)
        #expect(refused.status == 69, "\(refused.status) \(refused.stderr)")
        let fromEnvironment = try await sandbox.run("Blair", "receive", environment: ["PROTON_PROXY": proxy])
        #expect(fromEnvironment.status == 69, "\(fromEnvironment.status) \(fromEnvironment.stderr)")
    }

    @Test(arguments: ["", "ftp://127.0.0.1:21", "socks5://127.0.0.1", "socks5://user:pw@127.0.0.1:9050", "socks5://127.0.0.1:9050/path"])
    func aProxyThatCannotBeUsedIsAUsageError(_ text: String) async throws {
        let sandbox = try InviteSandbox()
        try await sandbox.makeProfile("Alex")
        let run = try await sandbox.run("Alex", "receive", "--proxy", text)
        #expect(run.status == 64, "\(text): \(run.status) \(run.stderr)")
        #expect(run.stderr.contains("proxy"), "\(text): \(run.stderr)")
    }
}

/// A SOCKS5 server (RFC 1928) that accepts only username/password authentication (RFC 1929)
/// and CONNECT by domain name, connects to the target and copies bytes both ways, recording
/// who asked for what.
final class TestSOCKSServer: Sendable {
    struct Tunnel: Sendable {
        let username: String
        let host: String
        let port: Int
    }

    let port: Int
    private let channel: any Channel
    private let box: LogBox

    private init(port: Int, channel: any Channel, box: LogBox) {
        self.port = port
        self.channel = channel
        self.box = box
    }

    var tunnels: [Tunnel] { box.log.withLock { $0 } }

    func stop() async { try? await channel.close() }

    static func start() async throws -> TestSOCKSServer {
        let box = LogBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    Task { try? await serve(connection, box: box) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestSOCKSServer(port: channel.localAddress?.port ?? 0, channel: channel, box: box)
    }

    final class LogBox: Sendable {
        let log = Mutex<[Tunnel]>([])
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, box: LogBox) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var reader = Reader(inbound.makeAsyncIterator())
            guard let greeting = try await reader.read(2), greeting[0] == 5, let methods = try await reader.read(Int(greeting[1])) else { return }
            guard methods.contains(2) else {
                try await outbound.write(ByteBuffer(bytes: [5, 0xff]))
                return
            }
            try await outbound.write(ByteBuffer(bytes: [5, 2]))
            guard let version = try await reader.read(2), version[0] == 1, let user = try await reader.read(Int(version[1])),
                let passwordLength = try await reader.read(1), try await reader.read(Int(passwordLength[0])) != nil
            else { return }
            try await outbound.write(ByteBuffer(bytes: [1, 0]))
            guard let request = try await reader.read(4), request[0] == 5, request[1] == 1, request[3] == 3,
                let length = try await reader.read(1), let name = try await reader.read(Int(length[0])), let portBytes = try await reader.read(2)
            else { return }
            let host = String(decoding: name, as: UTF8.self)
            let port = Int(portBytes[0]) << 8 | Int(portBytes[1])
            box.log.withLock { $0.append(Tunnel(username: String(decoding: user, as: UTF8.self), host: host, port: port)) }
            let target = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
            try await outbound.write(ByteBuffer(bytes: [5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
            try await target.executeThenClose { targetInbound, targetOutbound in
                let rest = reader.rest
                let fromClient = Copier(reader.iterator)
                let fromTarget = Copier(targetInbound.makeAsyncIterator())
                await withDiscardingTaskGroup { group in
                    group.addTask { await fromClient.copy(first: rest, to: targetOutbound) }
                    group.addTask { await fromTarget.copy(first: nil, to: outbound) }
                }
            }
        }
    }

    struct Reader {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        private var buffered: [UInt8] = []

        init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

        mutating func read(_ count: Int) async throws -> [UInt8]? {
            while buffered.count < count {
                guard let chunk = try await iterator.next() else { return nil }
                buffered += chunk.readableBytesView
            }
            defer { buffered.removeFirst(count) }
            return Array(buffered.prefix(count))
        }

        var rest: ByteBuffer? { buffered.isEmpty ? nil : ByteBuffer(bytes: buffered) }
    }

    /// One direction; used by one task only.
    final class Copier: @unchecked Sendable {
        private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

        func copy(first: ByteBuffer?, to writer: NIOAsyncChannelOutboundWriter<ByteBuffer>) async {
            if let first { try? await writer.write(first) }
            while let chunk = try? await iterator.next() {
                do { try await writer.write(chunk) } catch { break }
            }
            writer.finish()
        }
    }
}
