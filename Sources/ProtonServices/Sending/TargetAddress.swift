import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One IP address a receiving service's host name resolved to, and whether a sending service may
/// connect to it. A sending service forwards to URIs its clients name, so without this check it
/// would be a proxy into its own network: loopback admin ports, the cloud metadata endpoint,
/// the private LAN. Every address a name resolves to is checked, and the connection is then
/// pinned to a checked one, so a name that changes its answer between the check and the connect
/// (DNS rebinding) cannot slip through.
public struct TargetAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a numeric IPv4 or IPv6 address (no names, no zone ids).
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let text = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return text == nil ? "?" : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// False for every address that is not on the public internet: unspecified, loopback,
    /// private (RFC 1918, unique local), shared (RFC 6598), link-local, multicast, broadcast,
    /// reserved and documentation ranges, and IPv6 forms that embed such an IPv4 address
    /// (mapped, compatible, NAT64, 6to4).
    public var isPublic: Bool {
        if bytes.count == 4 { return Self.isPublicV4(bytes) }
        let b = bytes
        if b[0] == 0xff { return false }  // ff00::/8 multicast
        if b[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
        if b[0] == 0xfe, b[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link-local
        if b[0] == 0xfe, b[1] & 0xc0 == 0xc0 { return false }  // fec0::/10 site-local (deprecated)
        if b[0..<10].allSatisfy({ $0 == 0 }) {
            if b[10] == 0xff, b[11] == 0xff { return Self.isPublicV4(Array(b[12...])) }  // ::ffff:a.b.c.d mapped
            if b[10] == 0, b[11] == 0 { return false }  // ::, ::1 and the deprecated ::a.b.c.d
        }
        if b[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] { return Self.isPublicV4(Array(b[12...])) }  // 64:ff9b::/96 NAT64
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xff, b[3] == 0x9b, b[4] == 0, b[5] == 1 { return false }  // 64:ff9b:1::/48 local NAT64
        if b[0] == 0x01, b[1..<8].allSatisfy({ $0 == 0 }) { return false }  // 100::/64 discard
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x0d, b[3] == 0xb8 { return false }  // 2001:db8::/32 documentation
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0, b[3] == 0 { return false }  // 2001::/32 Teredo (embeds any IPv4)
        if b[0] == 0x20, b[1] == 0x02 { return Self.isPublicV4(Array(b[2..<6])) }  // 2002::/16 6to4
        if b[0] == 0x3f, b[1] == 0xff, b[2] & 0xf0 == 0 { return false }  // 3fff::/20 documentation
        return b[0] & 0xe0 == 0x20  // only 2000::/3 is global unicast
    }

    private static func isPublicV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _): return false  // "this network", 0.0.0.0
        case (10, _): return false  // RFC 1918
        case (100, 64...127): return false  // RFC 6598 shared (carrier-grade NAT)
        case (127, _): return false  // loopback
        case (169, 254): return false  // link-local, cloud metadata endpoints
        case (172, 16...31): return false  // RFC 1918
        case (192, 0) where b[2] == 0 || b[2] == 2: return false  // IETF protocol assignments, TEST-NET-1
        case (192, 88) where b[2] == 99: return false  // 6to4 relay anycast (deprecated)
        case (192, 168): return false  // RFC 1918
        case (198, 18...19): return false  // benchmarking
        case (198, 51) where b[2] == 100: return false  // TEST-NET-2
        case (203, 0) where b[2] == 113: return false  // TEST-NET-3
        case (224...255, _): return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    /// Every address `host` resolves to (IPv4 and IPv6, TCP), through the system resolver on a
    /// thread of its own. Empty when the name does not resolve.
    public static func resolve(_ host: String) async -> [TargetAddress] {
        if let literal = TargetAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) { return [literal] }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: resolveBlocking(host)) }
        }
    }

    /// As `resolve(_:)`, but empty after `timeout` if the resolver has not answered by then (a
    /// slow authoritative server would otherwise hold the caller as long as it likes; the
    /// lookup's thread finishes on its own).
    public static func resolve(_ host: String, timeout: TimeInterval) async -> [TargetAddress] {
        if let literal = TargetAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) { return [literal] }
        let answered = Once()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let found = resolveBlocking(host)
                if answered.first() { continuation.resume(returning: found) }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + max(0, timeout)) {
                if answered.first() { continuation.resume(returning: []) }
            }
        }
    }

    private final class Once: Sendable {
        private let done = Mutex(false)
        /// True the first time only.
        func first() -> Bool { done.withLock { done in defer { done = true }; return !done } }
    }

    private static func resolveBlocking(_ host: String) -> [TargetAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var found: [TargetAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            if let address = entry.pointee.ai_addr {
                switch Int32(entry.pointee.ai_family) {
                case AF_INET:
                    let v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    found.append(TargetAddress(bytes: withUnsafeBytes(of: v4) { Array($0) })!)
                case AF_INET6:
                    let v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    found.append(TargetAddress(bytes: withUnsafeBytes(of: v6) { Array($0) })!)
                default:
                    break
                }
            }
            next = entry.pointee.ai_next
        }
        var seen = Set<TargetAddress>()
        return found.filter { seen.insert($0).inserted }
    }
}
