import ProtonCrypto

/// What travels through a sending service: the recipient's address sealed to the receiving
/// service's public key (a libsodium sealed box the sending service cannot open), and the
/// ratchet ciphertext. The sealed box also holds a hash of the ciphertext, so a sealed address
/// is good for its own ciphertext only: whoever sees an envelope cannot pair the sealed address
/// with other bytes to fill the address's quota or probe it.
public struct Envelope: Sendable, Equatable {
    /// The sealed address's plaintext format: version 2 binds the ciphertext.
    public static let sealedAddressVersion: UInt8 = 2
    static let sealedPlaintextByteCount = 2 + AddressID.byteCount + SHA256.byteCount
    public static let sealedAddressByteCount = sealedPlaintextByteCount + 48
    public static var maximumByteCount: Int { 2 + 2 + sealedAddressByteCount + 4 + InitialMessage.maximumByteCount }

    public let sealedAddress: [UInt8]
    public let ciphertext: [UInt8]

    public init(sealedAddress: [UInt8], ciphertext: [UInt8]) throws(WireError) {
        guard sealedAddress.count == Self.sealedAddressByteCount else {
            throw .invalidValue(field: "sealed address", reason: "must be \(Self.sealedAddressByteCount) bytes")
        }
        guard ciphertext.count <= InitialMessage.maximumByteCount else {
            throw .oversized(field: "ciphertext", limit: InitialMessage.maximumByteCount, actual: ciphertext.count)
        }
        self.sealedAddress = sealedAddress
        self.ciphertext = ciphertext
    }

    /// Seals `route.address`, bound to `ciphertext`, to `route.serviceKey`.
    public init(sealing ciphertext: [UInt8], to route: Route, random: some RandomSource) throws(WireError) {
        var writer = WireWriter(format: .sealedAddress, version: Self.sealedAddressVersion, capacity: Self.sealedPlaintextByteCount)
        writer.fixed(route.address.bytes)
        writer.fixed(SHA256.hash(ciphertext))
        let sealed: [UInt8]
        do { sealed = try SealedBox.seal(writer.bytes, to: route.serviceKey, using: random) } catch {
            throw .invalidValue(field: "service key", reason: "a low-order key no box can be sealed to")
        }
        try self.init(sealedAddress: sealed, ciphertext: ciphertext)
    }

    /// What a receiving service does: opens the sealed address with its private key and checks
    /// that it was sealed for this ciphertext.
    public func openAddress(with serviceKey: SealedBox.PrivateKey) throws(WireError) -> AddressID {
        let plain: [UInt8]
        do { plain = try SealedBox.open(sealedAddress, with: serviceKey) } catch {
            throw .invalidValue(field: "sealed address", reason: "does not open with this service's key")
        }
        var reader = try WireReader(
            plain, format: .sealedAddress, maximumSize: Self.sealedPlaintextByteCount,
            versions: Self.sealedAddressVersion...Self.sealedAddressVersion)
        let address = try AddressID(bytes: reader.fixed(AddressID.byteCount, "address"))
        let digest = try reader.fixed(SHA256.byteCount, "ciphertext hash")
        try reader.finish()
        guard ConstantTime.equals(digest, SHA256.hash(ciphertext)) else {
            throw .invalidValue(field: "sealed address", reason: "was sealed for another ciphertext")
        }
        return address
    }

    /// What identifies this envelope to a receiving service's replay check: the sealed box's
    /// ephemeral public key, fresh for every envelope sealed.
    public var replayTag: [UInt8] { Array(sealedAddress.prefix(32)) }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(format: .envelope, capacity: 8 + sealedAddress.count + ciphertext.count)
        writer.medium(sealedAddress)
        writer.long(ciphertext)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = try WireReader(bytes, format: .envelope, maximumSize: Self.maximumByteCount)
        let sealed = try reader.medium("sealed address", limit: Self.sealedAddressByteCount)
        let ciphertext = try reader.long("ciphertext", limit: InitialMessage.maximumByteCount)
        try reader.finish()
        try self.init(sealedAddress: sealed, ciphertext: ciphertext)
    }
}
