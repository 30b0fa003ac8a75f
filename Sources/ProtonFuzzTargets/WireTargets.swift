import Foundation
import ProtonCore
import ProtonCrypto

/// The binary formats of docs/wire-format.md and their text encodings. For each, whatever a
/// parser accepts must encode back to exactly the bytes it read (one encoding per value: what
/// was signed is what is stored), and encoding any value must decode back to it.
enum WireTargets {
    static let all: [FuzzTarget] = [base45, base64URL, invite, inviteText, keyPackage, initialMessage, envelope, sealedAddress]

    static let base45 = FuzzTarget(
        "base45", "Base45 (RFC 9285): decode, canonical re-encoding, and decode(encode(bytes)) == bytes",
        seeds: { [Array(Seeds.invite.qrText.utf8), Array("%69 VD92EX0".utf8)] }
    ) { input throws(FuzzViolation) in
        let decoded = try? Base45.decode(input.text, limit: 1 << 20)
        if let decoded {
            try require(Base45.encode(decoded) == input.text, "base45", "accepted text re-encodes differently")
        }
        let encoded = Base45.encode(input)
        let back = try? Base45.decode(encoded, limit: 1 << 20)
        try require(back == input, "base45", "decode(encode(bytes)) != bytes")
        return decoded != nil
    }

    static let base64URL = FuzzTarget(
        "base64url", "Base64URL without padding: decode, canonical re-encoding, round trip",
        seeds: { [Array(Base64URL.encode(Array(0..<48)).utf8), Array("AAEC".utf8)] }
    ) { input throws(FuzzViolation) in
        let decoded = try? Base64URL.decode(input.text, limit: 8_192)
        if let decoded {
            try require(Base64URL.encode(decoded) == input.text, "base64url", "accepted text re-encodes differently")
        }
        let back = try? Base64URL.decode(Base64URL.encode(input), limit: 8_192)
        try require(input.count > 8_192 || back == input, "base64url", "decode(encode(bytes)) != bytes")
        return decoded != nil
    }

    static let invite = FuzzTarget(
        "invite", "Invite (0x01, versions 1 and 2): decode and exact re-encoding",
        seeds: { [Seeds.invite.encoded(), Seeds.attestedInvite.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let invite = try? Invite(decoding: input) else { return false }
        try require(invite.encoded() == input, "invite", "accepted bytes re-encode differently")
        return true
    }

    static let inviteText = FuzzTarget(
        "invite-text", "An invite as pasted or scanned text (Base45 around the binary invite)",
        seeds: { [Array(Seeds.invite.qrText.utf8), Array(Seeds.attestedInvite.qrText.utf8)] }
    ) { input throws(FuzzViolation) in
        guard let invite = try? Invite(qrText: input.text) else { return false }
        // One text per invite, whitespace around it aside.
        try require(
            invite.qrText == input.text.trimmingCharacters(in: .whitespacesAndNewlines), "invite-text",
            "an invite was read from text that is not its own")
        return true
    }

    static let keyPackage = FuzzTarget(
        "key-package", "Key package (0x02): decode and exact re-encoding",
        seeds: { [Seeds.keyPackage.encoded(), Seeds.keyPackage.withOneTimePrekeys([]).encoded(), Seeds.hybridKeyPackage.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let package = try? KeyPackage(decoding: input) else { return false }
        try require(package.encoded() == input, "key-package", "accepted bytes re-encode differently")
        return true
    }

    static let initialMessage = FuzzTarget(
        "initial-message", "Initial message (0x07): decode, exact re-encoding, the initiator's identity opened with the prekey",
        seeds: { [Seeds.start.initial.encoded(), Seeds.hybridInitial.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let message = try? InitialMessage(decoding: input) else { return false }
        try require(message.encoded() == input, "initial-message", "accepted bytes re-encode differently")
        _ = try? message.initiatorIdentity(using: Seeds.invitePrekey)
        // A hybrid one: decapsulate whatever ciphertext it carries (implicit rejection gives
        // some secret) and try the sealed identity with it.
        if let part = message.kem, let secret = try? Seeds.hybridKEMPrekey.decapsulate(part.ciphertext) {
            _ = try? message.initiatorIdentity(using: Seeds.invitePrekey, kemSecret: secret)
        }
        return true
    }

    static let envelope = FuzzTarget(
        "envelope", "Envelope (0x05): decode, exact re-encoding, the sealed address opened with the service key",
        seeds: { [Seeds.envelope.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let envelope = try? Envelope(decoding: input) else { return false }
        try require(envelope.encoded() == input, "envelope", "accepted bytes re-encode differently")
        _ = try? envelope.openAddress(with: Fixtures.serviceKey)
        return true
    }

    /// The receiving service's side of `POST /v1/deliver`: a sealed address and a ciphertext
    /// from anyone, opened with the service's key. The first input byte says how many of the
    /// rest are the sealed address.
    static let sealedAddress = FuzzTarget(
        "sealed-address", "Sealed address (0x06) opened by the receiving service, bound to its ciphertext",
        seeds: {
            let envelope = Seeds.envelope
            return [[UInt8(envelope.sealedAddress.count)] + envelope.sealedAddress + envelope.ciphertext]
        }
    ) { input throws(FuzzViolation) in
        guard let first = input.first else { return false }
        let rest = input.dropFirst()
        let split = min(Int(first), rest.count)
        let sealed = Array(rest.prefix(split))
        let ciphertext = Array(rest.dropFirst(split))
        guard let envelope = try? Envelope(sealedAddress: sealed, ciphertext: ciphertext),
            let address = try? envelope.openAddress(with: Fixtures.serviceKey)
        else { return false }
        // Opened: then the same sealed address with any other ciphertext must not open.
        let other = try? Envelope(sealedAddress: sealed, ciphertext: ciphertext + [0]).openAddress(with: Fixtures.serviceKey)
        try require(other == nil, "sealed-address", "a sealed address for \(address.hex) opened with another ciphertext")
        return true
    }
}
