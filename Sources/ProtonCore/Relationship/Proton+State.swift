import Foundation
import ProtonCrypto

/// The proton's binary state for the store: everything but the skipped message keys, which the
/// store keeps in a table of their own. Contains secrets (ratchet keys, address auth keys).
extension Proton {
    /// Version 2 appends the peer's highest sequence and the stale-state marks, version 3 the
    /// unreadable messages' mark, version 4 the checkpoints given to the peer; older states
    /// still load.
    static let stateVersion: UInt8 = 4

    public func serializedState() -> SecureBytes {
        // Room for everything up front: a buffer that grew would leave earlier copies of the
        // secrets in freed memory.
        var writer = WireWriter(
            nestedCapacity: 6144 + (peerRoutes.count + ownRoutes.count) * 192 + ProtonPayload.overhead(updates: pendingUpdates)
                + checkpointsSent.reduce(0) { $0 + 10 + $1.origin.utf8.count })
        writer.byte(Self.stateVersion)
        writer.byte(role.rawValue)
        writer.fixed(ourIdentity.rawRepresentation)
        writer.fixed(peerIdentity.rawRepresentation)
        writer.short(Array((peerDisplayName ?? "").utf8))
        writer.uint32(UInt32(policy.messagesPerAddress))
        writer.uint64(UInt64(policy.addressLifetime))
        writer.uint64(UInt64(policy.retirementGrace))
        writer.mediumSecret(ratchet.serializedState())
        writer.byte(UInt8(peerRoutes.count))
        for peer in peerRoutes {
            peer.route.encode(into: &writer)
            writer.uint64(Self.seconds(peer.addedAt))
        }
        writer.byte(UInt8(ownRoutes.count))
        for own in ownRoutes {
            own.route.encode(into: &writer)
            writer.secret(own.authKey.seedBytes)
            switch own.state {
            case .offered(let sequence):
                writer.byte(1)
                writer.uint64(sequence)
            case .active:
                writer.byte(2)
            case .retiring(let since):
                writer.byte(3)
                writer.uint64(Self.seconds(since))
            case .retired:
                writer.byte(4)
            }
            writer.uint64(Self.seconds(own.issuedAt))
            writer.byte(own.isShared ? 1 : 0)
        }
        writer.byte(UInt8(pendingUpdates.count))
        for update in pendingUpdates { update.encode(into: &writer) }
        writer.uint64(nextUpdateSequence)
        writer.uint64(peerUpdatesApplied)
        writer.uint32(UInt32(clamping: messagesSinceRotation))
        writer.uint64(Self.seconds(lastRotation))
        writer.byte(isBlocked ? 1 : 0)
        writer.uint64(messagesSent)
        writer.uint64(messagesReceived)
        writer.uint64(Self.seconds(establishedAt))
        writer.uint64(highestPeerSequence)
        writer.uint64(presentedPeerSequence ?? UInt64.max)
        writer.uint64(peerStaleStateSeenAt.map(Self.seconds) ?? 0)
        writer.uint64(ourStaleStateReportedAt.map(Self.seconds) ?? 0)
        writer.byte(staleNoticePending ? 1 : 0)
        writer.uint64(unreadableSince.map(Self.seconds) ?? 0)
        writer.uint32(unreadableCount)
        writer.byte(UInt8(checkpointsSent.count))
        for sent in checkpointsSent {
            writer.short(Array(sent.origin.utf8))
            writer.uint64(sent.size)
        }
        return writer.takeSecret()
    }

    public init(serializedState: SecureBytes, skippedKeys: [SkippedMessageKey]) throws(WireError) {
        var bytes = serializedState.unsafeExportedBytes()
        defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        var reader = WireReader(nested: bytes)
        let version = try reader.byte("proton state version")
        guard (1...Self.stateVersion).contains(version) else {
            throw .invalidValue(field: "proton state", reason: "unsupported version")
        }
        guard let role = Role(rawValue: try reader.byte("role")) else { throw .invalidValue(field: "role", reason: "unknown") }
        let ourIdentityBytes = try reader.fixed(32, "our identity")
        let peerIdentityBytes = try reader.fixed(32, "peer identity")
        let ourIdentity = try! Ed25519.PublicKey(rawRepresentation: ourIdentityBytes)
        let peerIdentity = try! Ed25519.PublicKey(rawRepresentation: peerIdentityBytes)
        let name = try reader.shortString("peer name")
        let policy = RotationPolicy(
            messagesPerAddress: Int(try reader.uint32("rotation messages")),
            addressLifetime: TimeInterval(try Self.duration(try reader.uint64("rotation lifetime"))),
            retirementGrace: TimeInterval(try Self.duration(try reader.uint64("retirement grace"))))
        var ratchetBytes = try reader.medium("ratchet", limit: 8192)
        let ratchet = try DoubleRatchet(serializedState: SecureBytes(consuming: &ratchetBytes), skippedKeys: skippedKeys)
        self.init(role: role, ourIdentity: ourIdentity, peerIdentity: peerIdentity, policy: policy, ratchet: ratchet, now: Date(timeIntervalSince1970: 0))
        // A name stored before the display-name rules loads without what they take out.
        peerDisplayName = name.isEmpty ? nil : Persona.neutralised(name)
        // Counts are read as far as their byte goes, and a state over today's limits is healed
        // below rather than refused: an older version may have kept more.
        let peerCount = Int(try reader.byte("peer route count"))
        for _ in 0..<peerCount {
            let route = try Route.decode(from: &reader)
            peerRoutes.append(PeerRoute(route: route, addedAt: try Self.date(try reader.uint64("route added"))))
        }
        let ownCount = Int(try reader.byte("own route count"))
        for _ in 0..<ownCount {
            let route = try Route.decode(from: &reader)
            var seed = try reader.fixed(32, "address key")
            let authKey = try! Ed25519.PrivateKey(seed: &seed)
            let state: OwnRoute.State
            switch try reader.byte("route state") {
            case 1: state = .offered(sequence: try reader.uint64("offer sequence"))
            case 2: state = .active
            case 3: state = .retiring(since: try Self.date(try reader.uint64("retiring since")))
            case 4: state = .retired
            default: throw .invalidValue(field: "route state", reason: "unknown")
            }
            let issuedAt = try Self.date(try reader.uint64("issued at"))
            let shared = try reader.byte("shared") == 1
            ownRoutes.append(OwnRoute(route: route, authKey: authKey, state: state, issuedAt: issuedAt, isShared: shared))
        }
        if peerRoutes.count > Self.maximumPeerRoutes { peerRoutes.removeLast(peerRoutes.count - Self.maximumPeerRoutes) }
        let updateCount = Int(try reader.byte("pending update count"))
        for _ in 0..<updateCount { pendingUpdates.append(try ProtonUpdate.decode(from: &reader)) }
        nextUpdateSequence = try reader.uint64("next sequence")
        peerUpdatesApplied = try reader.uint64("peer sequence")
        messagesSinceRotation = Int(try reader.uint32("messages since rotation"))
        lastRotation = try Self.date(try reader.uint64("last rotation"))
        isBlocked = try reader.byte("blocked") == 1
        messagesSent = try reader.uint64("sent")
        messagesReceived = try reader.uint64("received")
        establishedAtStorage = try Self.date(try reader.uint64("established"))
        presentedPeerSequence = nil
        if version >= 2 {
            highestPeerSequence = try reader.uint64("highest peer sequence")
            let presented = try reader.uint64("presented peer sequence")
            presentedPeerSequence = presented == UInt64.max ? nil : presented
            let seen = try reader.uint64("peer stale state seen")
            peerStaleStateSeenAt = seen == 0 ? nil : try Self.date(seen)
            let reported = try reader.uint64("our stale state reported")
            ourStaleStateReportedAt = reported == 0 ? nil : try Self.date(reported)
            staleNoticePending = try reader.byte("stale notice pending") == 1
        }
        if version >= 3 {
            let since = try reader.uint64("unreadable since")
            unreadableSince = since == 0 ? nil : try Self.date(since)
            unreadableCount = try reader.uint32("unreadable count")
        }
        if version >= 4 {
            let count = Int(try reader.byte("gossiped log count"))
            for _ in 0..<count {
                let origin = try reader.shortString("gossiped log origin")
                checkpointsSent.append((origin, try reader.uint64("gossiped checkpoint size")))
            }
            if checkpointsSent.count > Self.maximumGossipedLogs { checkpointsSent.removeFirst(checkpointsSent.count - Self.maximumGossipedLogs) }
        }
        try reader.finish()
        boundOwnRoutes()
    }

    /// The last second of the year 9999: no stored time is later. A larger one would load as a
    /// Double that no longer fits a UInt64, and the next save would trap (found by the
    /// proton-state fuzz target: a state with such a time loaded, then crashed when saved).
    static let latestStoredSecond: UInt64 = 253_402_300_799

    private static func seconds(_ date: Date) -> UInt64 {
        UInt64(min(max(0, date.timeIntervalSince1970.rounded(.down)), Double(latestStoredSecond)))
    }

    /// A stored duration, at most 100 years (the same trap on the next save, past UInt64's range).
    private static func duration(_ seconds: UInt64) throws(WireError) -> UInt64 {
        guard seconds <= 100 * 365 * 86_400 else { throw .invalidValue(field: "duration", reason: "over 100 years") }
        return seconds
    }

    private static func date(_ seconds: UInt64) throws(WireError) -> Date {
        guard seconds <= latestStoredSecond else { throw .invalidValue(field: "time", reason: "after the year 9999") }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
