import Foundation
import NIOCore
import NIOPosix
import ProtonCrypto

/// A loopback HTTP CONNECT proxy in front of a SOCKS5 proxy, for AsyncHTTPClient, whose own
/// SOCKS support has no authentication and so cannot ask Tor for isolated circuits.
///
/// AsyncHTTPClient connects here with `CONNECT host:port` and `Proxy-Authorization: Basic …`;
/// the bridge opens a connection to the SOCKS5 proxy, authenticates with that username and
/// password (RFC 1929), asks for `host:port` by name (RFC 1928 §4, ATYP 3, so the name is
/// resolved by the proxy and never by this machine), answers `200`, and then copies bytes both
/// ways until either side closes, then closes both. It listens on 127.0.0.1 only and is no open
/// proxy for other local users: a CONNECT must carry the password drawn for this process run.
/// It reads at most `maximumHeadByteCount` of request head within `handshakeTimeout`, and the
/// SOCKS handshake must finish within it too.
final class SOCKSBridge: Sendable {
    static let maximumHeadByteCount = 8 << 10
    static let handshakeTimeout: TimeInterval = 30

    let port: Int
    /// What AsyncHTTPClient must send as the Basic password; the bridge sends the upstream
    /// proxy a constant one instead (only the username isolates).
    let password: String
    private let listener: any Channel

    private init(port: Int, password: String, listener: any Channel) {
        self.port = port
        self.password = password
        self.listener = listener
    }

    deinit { listener.close(promise: nil) }

    /// Listens on a free loopback port; each accepted connection is bridged in a task of its
    /// own. Synchronous, so that it can be set up while the command line is read.
    static func start(upstreamHost: String, upstreamPort: Int) throws -> SOCKSBridge {
        let password = SystemRandom().bytes(16).map { String(format: "%02x", $0) }.joined()
        let listener = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    Task { try? await bridge(connection, password: password, upstreamHost: upstreamHost, upstreamPort: upstreamPort) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        return SOCKSBridge(port: listener.localAddress?.port ?? 0, password: password, listener: listener)
    }

    private static func bridge(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, password: String, upstreamHost: String, upstreamPort: Int
    ) async throws {
        // Nothing may sit half-open: the head and the SOCKS handshake get a deadline.
        let deadline = Task {
            try await Task.sleep(for: .seconds(handshakeTimeout))
            connection.channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        try await connection.executeThenClose { inbound, outbound in
            var reader = ByteReader(inbound.makeAsyncIterator())
            guard let head = try await reader.head(limit: maximumHeadByteCount), let request = ConnectRequest(head),
                request.password == password
            else {
                deadline.cancel()
                try await outbound.write(ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
                return
            }
            let upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.seconds(10))
                    .connect(host: upstreamHost, port: upstreamPort) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                try await outbound.write(ByteBuffer(string: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
                return
            }
            try await upstream.executeThenClose { upstreamInbound, upstreamOutbound in
                var upstreamReader = ByteReader(upstreamInbound.makeAsyncIterator())
                guard try await handshake(request, reader: &upstreamReader, writer: upstreamOutbound) else {
                    try await outbound.write(ByteBuffer(string: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
                    return
                }
                deadline.cancel()
                try await outbound.write(ByteBuffer(string: "HTTP/1.1 200 Connection established\r\n\r\n"))
                // Whatever either side sent past its handshake goes first.
                let clientRest = reader.takeBuffered()
                let upstreamRest = upstreamReader.takeBuffered()
                let fromClient = Pump(reader.iterator), fromUpstream = Pump(upstreamReader.iterator)
                // When either side closes, so does the other: a pooled connection whose tunnel
                // ended must not look alive, and an abandoned tunnel must not hold a stream.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await fromClient.copy(first: clientRest, to: upstreamOutbound) }
                    group.addTask { await fromUpstream.copy(first: upstreamRest, to: outbound) }
                    await group.next()
                    group.cancelAll()
                    connection.channel.close(promise: nil)
                    upstream.channel.close(promise: nil)
                }
            }
        }
    }

    /// RFC 1928 with RFC 1929 username/password authentication, asking for the host by name.
    private static func handshake(
        _ request: ConnectRequest, reader: inout ByteReader, writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws -> Bool {
        // Greeting: version 5, one method, 2 = username/password.
        try await writer.write(ByteBuffer(bytes: [5, 1, 2]))
        guard let choice = try await reader.read(2), choice == [5, 2] else { return false }
        let user = Array(request.username.utf8)
        let password = Array("proton".utf8)
        try await writer.write(ByteBuffer(bytes: [1, UInt8(user.count)] + user + [UInt8(password.count)] + password))
        guard let status = try await reader.read(2), status == [1, 0] else { return false }
        let host = Array(request.host.utf8)
        try await writer.write(ByteBuffer(bytes: [5, 1, 0, 3, UInt8(host.count)] + host + [UInt8(request.port >> 8), UInt8(request.port & 0xff)]))
        guard let reply = try await reader.read(4), reply[0] == 5, reply[1] == 0 else { return false }
        let addressLength: Int
        switch reply[3] {
        case 1: addressLength = 4
        case 4: addressLength = 16
        case 3:
            guard let length = try await reader.read(1) else { return false }
            addressLength = Int(length[0])
        default: return false
        }
        return try await reader.read(addressLength + 2) != nil
    }
}

/// One direction of a bridged connection. It holds the inbound iterator, which is not
/// Sendable; each pump is handed to exactly one task, which alone uses it.
private final class Pump: @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    func copy(first: ByteBuffer?, to writer: NIOAsyncChannelOutboundWriter<ByteBuffer>) async {
        if let first { try? await writer.write(first) }
        while let chunk = try? await iterator.next() {
            do { try await writer.write(chunk) } catch { break }
        }
        writer.finish()
    }
}

/// `CONNECT host:port` with Basic proxy credentials, as AsyncHTTPClient sends it.
struct ConnectRequest {
    let host: String
    let port: Int
    let username: String
    let password: String

    init?(_ head: [UInt8]) {
        guard let text = String(bytes: head, encoding: .utf8) else { return nil }
        let lines = text.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3, requestLine[0] == "CONNECT", requestLine[2].hasPrefix("HTTP/1."),
            let colon = requestLine[1].lastIndex(of: ":"), let port = Int(requestLine[1][requestLine[1].index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(requestLine[1][..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.count <= 255 else { return nil }
        var credentials: (String, String)?
        for line in lines.dropFirst() {
            guard let separator = line.firstIndex(of: ":") else { continue }
            guard line[..<separator].lowercased() == "proxy-authorization" else { continue }
            let value = line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            guard value.lowercased().hasPrefix("basic "), let decoded = Data(base64Encoded: String(value.dropFirst(6))),
                let pair = String(data: decoded, encoding: .utf8), let split = pair.firstIndex(of: ":")
            else { return nil }
            credentials = (String(pair[..<split]), String(pair[pair.index(after: split)...]))
        }
        guard let (username, password) = credentials, (1...255).contains(username.utf8.count), (1...255).contains(password.utf8.count)
        else { return nil }
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }
}

/// Reads exact byte counts, or up to a blank line, from a channel's inbound stream.
struct ByteReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffered: [UInt8] = []

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    /// Exactly `count` bytes, or nil if the stream ends first.
    mutating func read(_ count: Int) async throws -> [UInt8]? {
        while buffered.count < count {
            guard let chunk = try await iterator.next() else { return nil }
            buffered += chunk.readableBytesView
        }
        defer { buffered.removeFirst(count) }
        return Array(buffered.prefix(count))
    }

    /// Everything up to and including the first "\r\n\r\n", or nil if the stream ends or `limit`
    /// bytes pass without one.
    mutating func head(limit: Int) async throws -> [UInt8]? {
        while true {
            if let end = buffered.firstRange(of: [13, 10, 13, 10]) {
                defer { buffered.removeFirst(end.upperBound) }
                return Array(buffered[..<end.upperBound])
            }
            guard buffered.count < limit, let chunk = try await iterator.next() else { return nil }
            buffered += chunk.readableBytesView
        }
    }

    /// What was read past the last request, if anything.
    mutating func takeBuffered() -> ByteBuffer? {
        defer { buffered = [] }
        return buffered.isEmpty ? nil : ByteBuffer(bytes: buffered)
    }
}
