import Foundation
import ProtonCore
import ProtonCrypto

/// The receiving side of a relationship on hostile bytes: a whole `Proton.open` against a fixed
/// relationship, the ratchet message and header and the payload inside it, and a stored state
/// read back from a profile file.
enum RelationshipTargets {
    static let all: [FuzzTarget] = [protonOpen, protonRespond, ratchetMessage, ratchetHeader, payload, protonState]

    /// The inviter's side of a first contact: an initial message from anyone at an invite's
    /// address, parsed and answered with X3DH, the initiator's identity opened, the first
    /// ratchet message decrypted. Whatever starts a relationship must be Blair's genuine
    /// message, and the relationship must be with Blair.
    static let protonRespond = FuzzTarget(
        "proton-respond", "Proton.respond to a hostile initial message at an invite: only the genuine one starts a relationship, with its sender",
        seeds: { [Seeds.start.initial.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let initial = try? InitialMessage(decoding: input),
            let started = try? Proton.respond(
                persona: Seeds.alex, initialMessage: initial, signedPrekey: Seeds.invitePrekey, oneTimePrekey: nil,
                context: .invite, firstContactRoute: Seeds.inviteRoute, ourRoutes: [Fixtures.ownRoute("alex")], now: Fixtures.now,
                random: Fixtures.random("alex"))
        else { return false }
        try require(input == Seeds.start.initial.encoded(), "proton-respond", "an initial message Blair never sent started a relationship")
        try require(started.proton.peerIdentity == Seeds.blair.publicIdentity, "proton-respond", "a relationship started with the wrong peer")
        return true
    }

    /// What arrives at one of Alex's addresses: header decryption under the current, next and
    /// earlier header keys, skipped keys, a DH-ratchet step, replays, body decryption, the
    /// payload's updates. One input is up to 6 messages (each a 2-byte length, then the bytes),
    /// opened in turn against one state. Properties: whatever opens is one of Blair's genuine
    /// messages, none opens twice, and a refused message leaves the state (skipped keys
    /// included) exactly as it was.
    static let protonOpen = FuzzTarget(
        "proton-open", "Proton.open of a sequence of hostile messages on one relationship: only genuine ones open, each once; a refusal changes nothing",
        seeds: {
            let m = Seeds.blairMessages
            return [[m[0], m[1], m[2]], [m[2], m[0], m[1], m[3]], [m[0], m[0]], [m[3], m[4], m[1]], [m[4]]].map(framed)
        }
    ) { input throws(FuzzViolation) in
        var proton = Seeds.alexProton
        var opened: Set<[UInt8]> = []
        var accepted = false
        for message in unframed(input) {
            let before = proton.serializedState()
            let skipped = proton.skippedKeys.count
            do {
                _ = try proton.open(message, at: Seeds.inviteRoute.route.address, now: Fixtures.now, random: Fixtures.random("open"))
                try require(Seeds.blairMessages.contains(message), "proton-open", "a message Blair never sent opened")
                try require(opened.insert(message).inserted, "proton-open", "a message opened twice")
                accepted = true
            } catch let violation as FuzzViolation {
                throw violation
            } catch {
                try require(
                    proton.serializedState().isEqual(to: before) && proton.skippedKeys.count == skipped, "proton-open",
                    "a refused message changed the state")
            }
        }
        return accepted
    }

    /// Messages as one input: each a 2-byte big-endian length, then its bytes.
    static func framed(_ messages: [[UInt8]]) -> [UInt8] {
        messages.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xff)] + $0 }
    }

    static func unframed(_ input: [UInt8]) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var offset = 0
        while messages.count < 6, input.count - offset >= 2 {
            let length = Int(input[offset]) << 8 | Int(input[offset + 1])
            offset += 2
            let end = min(offset + length, input.count)
            messages.append(Array(input[offset..<end]))
            offset = end
        }
        return messages
    }

    static let ratchetMessage = FuzzTarget(
        "ratchet-message", "Ratchet message (0x03) framing: sealed header, body nonce, padded body",
        seeds: { Seeds.blairMessages }
    ) { input throws(FuzzViolation) in
        (try? FuzzAccess.parseRatchetMessage(input)) != nil
    }

    static let ratchetHeader = FuzzTarget(
        "ratchet-header", "Ratchet header (inside the header encryption): decode and exact re-encoding",
        seeds: { [Array(repeating: 9, count: 32) + [0, 0, 0, 1, 0, 0, 0, 2]] }
    ) { input throws(FuzzViolation) in
        guard let encoded = try? FuzzAccess.reencodeRatchetHeader(input) else { return false }
        try require(encoded == input, "ratchet-header", "accepted bytes re-encode differently")
        return true
    }

    /// The plaintext of every ratchet message. Display names are neutralised on the way in, so
    /// the property is that decoding is a fixed point after one round, not byte equality.
    static let payload = FuzzTarget(
        "payload", "Proton payload (0x04) and its updates: decode(encode(decode(x))) == decode(x)",
        seeds: { FuzzAccess.payloadSeeds(routes: [Fixtures.route("payload")]) }
    ) { input throws(FuzzViolation) in
        guard let once = try? FuzzAccess.reencodePayload(input) else { return false }
        let twice = try? FuzzAccess.reencodePayload(once)
        try require(twice == once, "payload", "a decoded payload does not survive encoding")
        return true
    }

    /// A relationship's state as a profile stores it: damaged or hostile bytes are refused, and
    /// whatever loads serialises to a state that loads to the same thing.
    static let protonState = FuzzTarget(
        "proton-state", "A stored relationship state: load, and serialise what loaded to a fixed point",
        seeds: { [Seeds.alexProton.serializedState().unsafeExportedBytes(), Seeds.start.blair.serializedState().unsafeExportedBytes()] }
    ) { input throws(FuzzViolation) in
        guard let proton = try? Proton(serializedState: SecureBytes(input), skippedKeys: []) else { return false }
        let once = proton.serializedState()
        let again = try? Proton(serializedState: once, skippedKeys: [])
        try require(again?.serializedState().isEqual(to: once) == true, "proton-state", "a loaded state does not load again unchanged")
        return true
    }
}
