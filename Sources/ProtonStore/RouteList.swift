import Foundation
import ProtonCore
import ProtonCrypto

/// How the outbox stores a list of routes: JSON, keys and addresses in hex. `package` for
/// the fuzz targets.
package enum RouteList {
    private struct Entry: Codable {
        var serviceURI: String
        var serviceKey: String
        var address: String
    }

    package static func encode(_ routes: [Route]) -> [UInt8] {
        let entries = routes.map {
            Entry(serviceURI: $0.serviceURI, serviceKey: Hex.encode($0.serviceKey.rawRepresentation), address: $0.address.hex)
        }
        // Strings and arrays of strings always encode.
        return Array(try! JSONEncoder().encode(entries))
    }

    package static func decode(_ bytes: [UInt8]) throws(StoreError) -> [Route] {
        do {
            return try JSONDecoder().decode([Entry].self, from: Data(bytes)).map { entry in
                guard let key = Hex.decode(entry.serviceKey) else { throw StoreError.corrupt(what: "outbox routes") }
                return try Route(
                    serviceURI: entry.serviceURI, serviceKey: SealedBox.PublicKey(rawRepresentation: key),
                    address: AddressID(hex: entry.address))
            }
        } catch {
            throw .corrupt(what: "outbox routes")
        }
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let byte = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
            index += 2
        }
        return out
    }
}
