import CSodium

/// A short, human-readable tag for a public key, for logs and listings (not for verification:
/// use the safety number for that).
func shortFingerprint(_ bytes: [UInt8]) -> String {
    let digest = SHA256.hash(bytes)
    return digest.prefix(6).map { byte in
        let hex = String(byte, radix: 16)
        return byte < 16 ? "0" + hex : hex
    }.joined()
}
