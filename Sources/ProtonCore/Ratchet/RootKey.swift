import ProtonCrypto

/// The root key of the Double Ratchet (Signal spec, section 2.2).
struct RootKey: Sendable {
    let secret: SecureBytes

    private static let info = Array("Proton ratchet root".utf8)
    private static let hybridInfo = Array("Proton ratchet root ML-KEM-768".utf8)

    /// KDF_RK_HE (section 4.1): HKDF with the root key as salt and the DH output as input key
    /// material, giving a new root key, a chain key and the next header key. A hybrid step's
    /// input is DH ‖ SS, the DH output followed by the ML-KEM secret of this step (the KEM-augmented
    /// KDF_RK_HE of SimpleX's post-quantum double ratchet, with its own label).
    func advance(with dhOutput: SecureBytes, kemSecret: SecureBytes? = nil) -> (root: RootKey, chain: ChainKey, nextHeader: HeaderKey) {
        let derived: SecureBytes
        if let kemSecret {
            derived = try! HKDF.deriveKey(
                inputKeyMaterial: SecureBytes(prefix: [], concatenating: [dhOutput, kemSecret]), salt: secret, info: Self.hybridInfo, outputByteCount: 96)
        } else {
            derived = try! HKDF.deriveKey(inputKeyMaterial: dhOutput, salt: secret, info: Self.info, outputByteCount: 96)
        }
        let parts = derived.split([32, 32, 32])
        return (RootKey(secret: parts[0]), ChainKey(secret: parts[1]), try! HeaderKey(parts[2]))
    }
}
