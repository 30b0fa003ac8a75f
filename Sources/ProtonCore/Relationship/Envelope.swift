import ProtonCrypto

/// What travels through a sending service: the recipient's address sealed to the receiving
/// service's public key (a libsodium sealed box the sending service cannot open), and the
/// ratchet ciphertext.
public struct Envelope: Sendable, Equatable {
    public static let sealedAddressByteCount = 2 + AddressID.byteCount + 48
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

    /// Seals `route.address` to `route.serviceKey`.
    public init(sealing ciphertext: [UInt8], to route: Route, random: some RandomSource) throws(WireError) {
        var writer = WireWriter(format: .sealedAddress, capacity: 2 + AddressID.byteCount)
        writer.fixed(route.address.bytes)
        let sealed: [UInt8]
        do { sealed = try SealedBox.seal(writer.bytes, to: route.serviceKey, using: random) } catch {
            throw .invalidValue(field: "service key", reason: "a low-order key no box can be sealed to")
        }
        try self.init(sealedAddress: sealed, ciphertext: ciphertext)
    }

    /// What a receiving service does: opens the sealed address with its private key.
    public func openAddress(with serviceKey: SealedBox.PrivateKey) throws(WireError) -> AddressID {
        let plain: [UInt8]
        do { plain = try SealedBox.open(sealedAddress, with: serviceKey) } catch {
            throw .invalidValue(field: "sealed address", reason: "does not open with this service's key")
        }
        var reader = try WireReader(plain, format: .sealedAddress, maximumSize: 2 + AddressID.byteCount)
        let address = try AddressID(bytes: reader.fixed(AddressID.byteCount, "address"))
        try reader.finish()
        return address
    }

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
