import ProtonCrypto

/// Where a party can be reached: a receiving service (its URI and X25519 public key) and an
/// address at it.
public struct Route: Hashable, Sendable {
    public static let maximumServiceURIByteCount = 200

    public let serviceURI: String
    public let serviceKey: SealedBox.PublicKey
    public let address: AddressID

    public init(serviceURI: String, serviceKey: SealedBox.PublicKey, address: AddressID) throws(WireError) {
        let count = serviceURI.utf8.count
        guard count > 0 else { throw .invalidValue(field: "service URI", reason: "empty") }
        guard count <= Route.maximumServiceURIByteCount else {
            throw .oversized(field: "service URI", limit: Route.maximumServiceURIByteCount, actual: count)
        }
        guard serviceURI.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            throw .invalidValue(field: "service URI", reason: "must be printable ASCII without spaces")
        }
        self.serviceURI = serviceURI
        self.serviceKey = serviceKey
        self.address = address
    }

    func encode(into writer: inout WireWriter) {
        writer.short(Array(serviceURI.utf8))
        writer.fixed(serviceKey.rawRepresentation)
        writer.fixed(address.bytes)
    }

    static func decode(from reader: inout WireReader) throws(WireError) -> Route {
        let uri = try reader.shortString("service URI", limit: maximumServiceURIByteCount)
        let keyBytes = try reader.fixed(32, "service key")
        let address = try AddressID(bytes: reader.fixed(AddressID.byteCount, "address"))
        let key: SealedBox.PublicKey
        do { key = try SealedBox.PublicKey(rawRepresentation: keyBytes) } catch {
            throw .invalidValue(field: "service key", reason: "not an X25519 key")
        }
        return try Route(serviceURI: uri, serviceKey: key, address: address)
    }
}
