import NIOCore
import NIOPosix
import Synchronization

/// A TCP load balancer on a loopback port, as an operator puts in front of several instances
/// of one service: each new connection goes to the next backend in turn, and to the one after
/// it if that one refuses (a killed instance). Bytes are copied both ways until either side
/// closes, which closes the other.
final class RoundRobinProxy: Sendable {
    let port: Int
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let accepting: Task<Void, Never>

    var url: String { "http://127.0.0.1:\(port)" }

    init(backendPorts: [Int]) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        port = server.channel.localAddress?.port ?? 0
        let next = Mutex(0)
        let server = self.server
        accepting = Task {
            try? await server.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await client in connections {
                            let first = next.withLock { value in
                                defer { value += 1 }
                                return value
                            }
                            group.addTask { await Self.relay(client, backends: backendPorts, startingAt: first) }
                        }
                    } catch {}
                }
            }
        }
    }

    func close() async {
        try? await server.channel.close()
        accepting.cancel()
        _ = await accepting.value
    }

    private static func relay(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, backends: [Int], startingAt first: Int) async {
        var upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
        for offset in 0..<backends.count where upstream == nil {
            upstream = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: backends[(first + offset) % backends.count]) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
        }
        guard let upstream else {
            try? await client.channel.close()
            return
        }
        try? await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Self.copy(clientIn, to: upstreamOut) }
                    group.addTask { try? await Self.copy(upstreamIn, to: clientOut) }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    private static func copy(_ input: NIOAsyncChannelInboundStream<ByteBuffer>, to output: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        for try await bytes in input { try await output.write(bytes) }
    }
}
