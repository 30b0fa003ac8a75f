import ProtonCrypto

/// A sending or receiving chain key (Signal spec, section 2.2).
struct ChainKey: Sendable {
    let secret: SecureBytes

    private static let messageKeyConstant: UInt8 = 0x01
    private static let chainKeyConstant: UInt8 = 0x02

    /// KDF_CK (section 5.2): HMAC-SHA-256 keyed by the chain key, with 0x01 for the message
    /// key and 0x02 for the next chain key.
    func advance() -> (chain: ChainKey, message: MessageKey) {
        let (messageKey, next) = HMACSHA256.authenticationCodes(
            forBytes: Self.messageKeyConstant, Self.chainKeyConstant, using: secret)
        return (ChainKey(secret: next), MessageKey(secret: messageKey))
    }
}
