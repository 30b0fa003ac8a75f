import ProtonCrypto

/// The six digits both people compare: HKDF-SHA-256 with the Noise handshake hash `h` as the
/// salt and nonceI || nonceR as the input key material, read as a number modulo 10^6.
///
/// `h` covers both sides' ephemeral and static keys, so two handshakes through a man in the
/// middle give two different hashes; the nonces, committed and revealed in order (see
/// `PairingCommitment`), keep the attacker from steering both numbers to the same value.
public enum ShortAuthenticationString {
    public static let digitCount = 6
    static let info = Array("ProtonPairing SAS".utf8)

    static func derive(handshakeHash: [UInt8], initiatorNonce: [UInt8], responderNonce: [UInt8]) -> String {
        // Eight bytes make the modulo bias about 2^-44: negligible next to the 10^-6 guess.
        let output = try! HKDF.deriveKey(
            inputKeyMaterial: SecureBytes(initiatorNonce + responderNonce), salt: handshakeHash, info: info,
            outputByteCount: 8
        ).unsafeExportedBytes()
        let value = output.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 1_000_000
        let digits = String(value)
        return String(repeating: "0", count: digitCount - digits.count) + digits
    }
}
