import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// The fixed clock of every test: 2027-01-15T08:00:00Z.
let testNow = Date(timeIntervalSince1970: 1_800_000_000)

/// Test-only hex codec; whitespace in the input is ignored so vectors can be wrapped.
enum Hex {
    static func bytes(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        precondition(digits.count % 2 == 0, "odd number of hex digits")
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let byte = UInt8(String(digits[index..<index + 2]), radix: 16) else { preconditionFailure("not hex") }
            out.append(byte)
            index += 2
        }
        return out
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    static func normalized(_ text: String) -> String { String(text.filter { !$0.isWhitespace }).lowercased() }
}

extension Array where Element == UInt8 {
    /// A copy with byte `index` XORed with `mask`.
    func flipping(byte index: Int, mask: UInt8 = 0x01) -> [UInt8] {
        var copy = self
        copy[index] ^= mask
        return copy
    }

    /// A copy with `count` bytes at `offset` replaced by `value` in big-endian order.
    func replacing(bigEndian value: UInt64, at offset: Int, count: Int) -> [UInt8] {
        var copy = self
        for index in 0..<count {
            copy[offset + index] = UInt8((value >> UInt64(8 * (count - 1 - index))) & 0xff)
        }
        return copy
    }

    /// Whether `self` and `other` share any run of `length` identical consecutive bytes.
    func sharesSubstring(with other: [UInt8], length: Int) -> Bool {
        guard count >= length, other.count >= length else { return false }
        var seen = Set<[UInt8]>()
        for start in 0...(count - length) { seen.insert(Array(self[start..<start + length])) }
        for start in 0...(other.count - length) where seen.contains(Array(other[start..<start + length])) { return true }
        return false
    }

    /// Whether `needle` occurs anywhere in `self`.
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return needle.isEmpty }
        for start in 0...(count - needle.count) where Array(self[start..<start + needle.count]) == needle { return true }
        return false
    }
}

/// Everything observable about a ratchet's state, to check that a refused message changed
/// nothing: the serialized secret state and every skipped key.
struct RatchetSnapshot: Equatable {
    let state: [UInt8]
    let skipped: [[UInt8]]

    init(_ ratchet: DoubleRatchet) {
        state = ratchet.serializedState().unsafeExportedBytes()
        skipped = ratchet.skippedKeys.entries.map(RatchetSnapshot.flatten)
    }

    static func flatten(_ key: SkippedMessageKey) -> [UInt8] {
        var bytes = key.headerKey.unsafeExportedBytes()
        withUnsafeBytes(of: key.messageNumber.bigEndian) { bytes.append(contentsOf: $0) }
        bytes += key.messageKey.unsafeExportedBytes()
        withUnsafeBytes(of: key.storedAt.timeIntervalSince1970.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }
}

/// The same for a whole proton.
struct ProtonSnapshot: Equatable {
    let state: [UInt8]
    let skipped: [[UInt8]]

    init(_ proton: Proton) {
        state = proton.serializedState().unsafeExportedBytes()
        skipped = proton.skippedKeys.map(RatchetSnapshot.flatten)
    }
}

/// Two raw ratchets seeded from one shared secret, as X3DH would leave them.
struct RatchetPair {
    var alice: DoubleRatchet
    var bob: DoubleRatchet
    let random: PairRandom
    let associatedData = Array("Proton test associated data".utf8)

    /// `classical`: Alice's first chain offers no KEM key, as in a relationship a version before
    /// KEM steps started (version 2 messages until the first DH step after, where it upgrades).
    /// `blind`: the pair as a recorder who has broken X25519 would follow it (`PairRandom`).
    init(
        seed: String, limits: SkippedMessageKeys.Limits = .init(), classical: Bool = false, offersEveryStep: Bool = false,
        bobOffersEveryStep: Bool? = nil, blind: Bool = false
    ) throws {
        random = PairRandom(seed: seed, blind: blind)
        let secret = SecureBytes(random.bytes(32))
        let bobRatchetKey = X25519.PrivateKey(using: random)
        alice = try DoubleRatchet(
            initiating: RatchetSeed(sharedSecret: secret), peerRatchetKey: bobRatchetKey.publicKey, random: random,
            limits: limits, offersFirstKEMKey: !classical, offersEveryStep: offersEveryStep)
        bob = DoubleRatchet(
            responding: try RatchetSeed(sharedSecret: secret), ourRatchetKey: bobRatchetKey, limits: limits,
            offersEveryStep: bobOffersEveryStep ?? offersEveryStep)
    }

    mutating func aliceSeals(_ text: String) throws -> [UInt8] {
        try alice.encrypt(Array(text.utf8), associatedData: associatedData, random: random)
    }

    mutating func bobSeals(_ text: String) throws -> [UInt8] {
        try bob.encrypt(Array(text.utf8), associatedData: associatedData, random: random)
    }

    mutating func bobOpens(_ message: [UInt8], now: Date = testNow) throws(RatchetError) -> String {
        String(decoding: try bob.decrypt(message, associatedData: associatedData, now: now, random: random), as: UTF8.self)
    }

    mutating func aliceOpens(_ message: [UInt8], now: Date = testNow) throws(RatchetError) -> String {
        String(decoding: try alice.decrypt(message, associatedData: associatedData, now: now, random: random), as: UTF8.self)
    }
}

/// Receiving services and fresh routes at them.
struct RouteFactory {
    let random: DeterministicRandom
    let service: SealedBox.PrivateKey
    let serviceURI: String

    init(random: DeterministicRandom, serviceURI: String = "https://rs.example.org/v1") {
        self.random = random
        self.service = SealedBox.PrivateKey(using: random)
        self.serviceURI = serviceURI
    }

    func route() throws -> Route {
        try Route(serviceURI: serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
    }

    func ownRoute(now: Date = testNow) throws -> OwnRoute {
        OwnRoute(route: try route(), authKey: Ed25519.PrivateKey(using: random), issuedAt: now)
    }
}

/// Two protons started from Bob's invite: Alice scanned it and sent the first message, Bob
/// answered it. Messages are handed over by hand, so tests can drop, delay and repeat them.
struct Relationship {
    var alice: Proton
    var bob: Proton
    let random: DeterministicRandom
    let routes: RouteFactory
    let aliceRoute: OwnRoute
    let bobRoute: OwnRoute
    let inviteRoute: OwnRoute
    /// What Bob's `respond` returned for Alice's first message.
    let firstReceived: Proton.ReceivedMessage
    /// Alice's initial message.
    let firstMessage: InitialMessage

    /// `viaKeyPackage`: Bob's prekey and address come in a key package (a brokered directory's)
    /// instead of an invite, so that address is shared with whoever else fetched the package.
    /// `offline`: Alice's first message offers no KEM key, as an offline reply's (`accept --offline`).
    init(seed: String, policy: RotationPolicy = .init(), now: Date = testNow, viaKeyPackage: Bool = false, offline: Bool = false) throws {
        random = DeterministicRandom(seed: seed)
        routes = RouteFactory(random: random)
        let alicePersona = try Persona(displayName: "Alice", random: random)
        let bobPersona = try Persona(displayName: "Bob", random: random)
        let prekey = X25519.PrivateKey(using: random)
        inviteRoute = try routes.ownRoute(now: now)
        let invite = Invite(
            identity: bobPersona.identityKey, prekey: prekey.publicKey, route: inviteRoute.route,
            expires: now.addingTimeInterval(3600))
        aliceRoute = try routes.ownRoute(now: now)
        bobRoute = try routes.ownRoute(now: now)

        let started: (proton: Proton, initialMessage: InitialMessage)
        if viaKeyPackage {
            let package = try KeyPackage(
                identity: bobPersona.identityKey, signedPrekey: prekey.publicKey, oneTimePrekeys: [], route: inviteRoute.route,
                expires: now.addingTimeInterval(3600))
            started = try Proton.initiate(
                persona: alicePersona, keyPackage: try KeyPackage(decoding: package.encoded()), ourRoutes: [aliceRoute],
                body: Array("hello Bob".utf8), policy: policy, now: now, random: random)
        } else {
            started = try Proton.initiate(
                persona: alicePersona, invite: try Invite(qrText: invite.qrText), ourRoutes: [aliceRoute], body: Array("hello Bob".utf8),
                policy: policy, offersFirstKEMKey: !offline, now: now, random: random)
        }
        alice = started.proton
        firstMessage = started.initialMessage
        let arrived = try InitialMessage(decoding: started.initialMessage.encoded())
        let answered = try Proton.respond(
            persona: bobPersona, initialMessage: arrived, signedPrekey: prekey, oneTimePrekey: nil,
            context: viaKeyPackage ? .keyPackage : .invite,
            firstContactRoute: inviteRoute, ourRoutes: [bobRoute], policy: policy, now: now, random: random)
        bob = answered.proton
        firstReceived = answered.message
    }

    mutating func aliceSeals(_ text: String, now: Date = testNow) throws(Proton.Error) -> Proton.OutgoingMessage {
        try alice.seal(Array(text.utf8), now: now, random: random)
    }

    mutating func bobSeals(_ text: String, now: Date = testNow) throws(Proton.Error) -> Proton.OutgoingMessage {
        try bob.seal(Array(text.utf8), now: now, random: random)
    }

    /// Delivers to the first route the sender would try (or `address`).
    mutating func bobOpens(
        _ message: Proton.OutgoingMessage, at address: AddressID? = nil, now: Date = testNow
    ) throws(Proton.Error) -> Proton.ReceivedMessage {
        try bob.open(message.ciphertext, at: address ?? message.routes[0].address, now: now, random: random)
    }

    mutating func aliceOpens(
        _ message: Proton.OutgoingMessage, at address: AddressID? = nil, now: Date = testNow
    ) throws(Proton.Error) -> Proton.ReceivedMessage {
        try alice.open(message.ciphertext, at: address ?? message.routes[0].address, now: now, random: random)
    }
}

extension Proton {
    func ownRoute(_ address: AddressID) -> OwnRoute? { ownRoutes.first { $0.address == address } }
    func state(of address: AddressID) -> OwnRoute.State? { ownRoute(address)?.state }
}

extension Proton.ReceivedMessage {
    var text: String { String(decoding: body, as: UTF8.self) }
}

extension DoubleRatchet {
    /// The stored state as version 3 wrote it: version 4's KEM state taken off its end.
    func versionThreeState() -> [UInt8] {
        var bytes = serializedState().unsafeExportedBytes()
        bytes.removeLast(
            3 + (kemKey == nil ? 0 : MLKEM.seedByteCount + MLKEM.publicKeyByteCount) + (sendingKEMCiphertext == nil ? 0 : MLKEM.ciphertextByteCount))
        bytes[0] = 3
        return bytes
    }

    /// Where a message's parts lie: its sealed header (with `kemByteCount` bytes of KEM
    /// fields; 0 for version 2), body nonce and body.
    static func layout(of message: [UInt8], kemByteCount: Int) -> (header: Range<Int>, nonce: Range<Int>, body: Range<Int>) {
        let headerEnd = 2 + RatchetHeader.sealedByteCount(kemByteCount: kemByteCount)
        let nonceEnd = headerEnd + XChaCha20Poly1305.nonceByteCount
        return (2..<headerEnd, headerEnd..<nonceEnd, (nonceEnd + (message[1] == 2 ? 4 : 0))..<message.count)
    }
}

/// A test pair's generator: `DeterministicRandom`'s stream, or (`blind`) that stream as the
/// recorder of the post-quantum claims has it: every X25519 private key the parties draw (as
/// if the curve were broken), but not their ML-KEM key seeds (the 64-byte draws). Encapsulation
/// secrets come from BoringSSL's own generator, so the recorder never learns those either.
final class PairRandom: RandomSource {
    let base: DeterministicRandom
    let blind: Bool

    init(seed: String, blind: Bool = false) {
        base = DeterministicRandom(seed: seed)
        self.blind = blind
    }

    func bytes(_ count: Int) -> [UInt8] {
        let bytes = base.bytes(count)
        return blind && count == MLKEM.seedByteCount ? bytes.map { ~$0 } : bytes
    }
}
