import Foundation
import ProtonCore
import ProtonCrypto

/// The receiving side of a relationship on hostile bytes: a whole `Proton.open` against a fixed
/// relationship, the ratchet message and header and the payload inside it, and a stored state
/// read back from a profile file.
enum RelationshipTargets {
    static let all: [FuzzTarget] = [protonOpen, ratchetMessage, ratchetHeader, payload, protonState]

    /// What arrives at one of Alex's addresses: header decryption under both header keys,
    /// skipped-key search, a DH-ratchet step, body decryption, the payload's updates. A refusal
    /// must leave the relationship exactly as it was.
    static let protonOpen = FuzzTarget(
        "proton-open", "Proton.open on hostile bytes at a live address of a fixed relationship; a refusal changes nothing",
        seeds: { Seeds.blairMessages }
    ) { input throws(FuzzViolation) in
        let before = Seeds.alexProton
        var proton = before
        do {
            _ = try proton.open(input, at: Seeds.inviteRoute.route.address, now: Fixtures.now, random: Fixtures.random("open"))
            return true
        } catch {
            try require(
                proton.serializedState().isEqual(to: before.serializedState()), "proton-open", "a refused message changed the state")
            return false
        }
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
