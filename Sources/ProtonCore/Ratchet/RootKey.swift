import ProtonCrypto

/// The root key of the Double Ratchet (Signal spec, section 2.2).
struct RootKey: Sendable {
    let secret: SecureBytes

    private static let info = Array("Proton ratchet root".utf8)

    /// KDF_RK_HE (section 4.1): HKDF with the root key as salt and the DH output as input key
    /// material, giving a new root key, a chain key and the next header key.
    func advance(with dhOutput: SecureBytes) -> (root: RootKey, chain: ChainKey, nextHeader: HeaderKey) {
        let derived = try! HKDF.deriveKey(inputKeyMaterial: dhOutput, salt: secret, info: Self.info, outputByteCount: 96)
        let parts = derived.split([32, 32, 32])
        return (RootKey(secret: parts[0]), ChainKey(secret: parts[1]), try! HeaderKey(parts[2]))
    }
}
