import ProtonCrypto

/// The initiator's commitment to its SAS nonce: C = SHA-256("ProtonPairing commit" || nonceI).
///
/// Why it is needed: the SAS has only 20 bits. Without a commitment, a man in the middle runs
/// one handshake with each side and, knowing every input of both SAS values, can try ephemeral
/// keys (or nonces) until the two numbers collide, about a million cheap attempts. With it, the
/// order of the reveals leaves the attacker no free choice that it can check: the initiator is
/// bound to nonceI before any handshake starts, the responder's nonceR is sent before nonceI is
/// revealed, so whatever the attacker sends one side is fixed before it learns the other side's
/// random input. Its chance is one guess, 1 in 10^6 — the argument of Bluetooth's numeric
/// comparison (Core spec, Vol 3 Part H 2.3.5.6.2) and ZRTP's hash commitment (RFC 6189 4.4.1.1).
struct PairingCommitment: Sendable, Equatable {
    static let nonceByteCount = 32
    static let label = Array("ProtonPairing commit".utf8)

    let digest: [UInt8]

    init(nonce: [UInt8]) {
        digest = SHA256.hash(Self.label + nonce)
    }

    init(digest: [UInt8]) throws(PairingError) {
        guard digest.count == SHA256.byteCount else { throw .malformed("commitment is not \(SHA256.byteCount) bytes") }
        self.digest = digest
    }

    /// Whether `nonce` opens this commitment (compared in constant time).
    func isOpened(by nonce: [UInt8]) -> Bool {
        nonce.count == Self.nonceByteCount && ConstantTime.equals(PairingCommitment(nonce: nonce).digest, digest)
    }
}
