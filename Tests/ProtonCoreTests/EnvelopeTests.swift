import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

struct EnvelopeTests {
    let random = DeterministicRandom(seed: "envelope tests")

    @Test func serviceKeyOpensTheSealedAddress() throws {
        let routes = RouteFactory(random: random)
        let route = try routes.route()
        let ciphertext = random.bytes(358)
        let envelope = try Envelope(sealing: ciphertext, to: route, random: random)
        #expect(envelope.sealedAddress.count == Envelope.sealedAddressByteCount)
        #expect(try envelope.openAddress(with: routes.service) == route.address)
        #expect(envelope.ciphertext == ciphertext)
        // What the sending service sees carries no trace of the address.
        let wire = envelope.encoded()
        #expect(!wire.containsSubsequence(route.address.bytes))
        #expect(try Envelope(decoding: wire) == envelope)
        #expect(wire.count == 2 + 2 + 66 + 4 + 358)
    }

    @Test func refusesTheWrongServiceKey() throws {
        let route = try RouteFactory(random: random).route()
        let envelope = try Envelope(sealing: [1, 2, 3], to: route, random: random)
        let otherService = SealedBox.PrivateKey(using: DeterministicRandom(seed: "another service"))
        #expect(throws: WireError.invalidValue(field: "sealed address", reason: "does not open with this service's key")) {
            try envelope.openAddress(with: otherService)
        }
    }

    @Test func refusesATamperedSealedAddress() throws {
        let routes = RouteFactory(random: random)
        let envelope = try Envelope(sealing: [1, 2, 3], to: try routes.route(), random: random)
        for index in [0, 31, 32, 47, 48, 65] {
            let tampered = try Envelope(sealedAddress: envelope.sealedAddress.flipping(byte: index), ciphertext: [1, 2, 3])
            #expect(throws: WireError.self, "byte \(index)") { try tampered.openAddress(with: routes.service) }
        }
    }

    @Test func sealingTwiceGivesUnlinkableAddresses() throws {
        let routes = RouteFactory(random: random)
        let route = try routes.route()
        let first = try Envelope(sealing: [], to: route, random: random)
        let second = try Envelope(sealing: [], to: route, random: random)
        #expect(!first.sealedAddress.sharesSubstring(with: second.sealedAddress, length: 4))
        #expect(try first.openAddress(with: routes.service) == second.openAddress(with: routes.service))
    }

    /// The sealed plaintext is format 0x06: tag, version, 16-byte address.
    @Test func refusesASealedAddressOfTheWrongFormatOrVersion() throws {
        let routes = RouteFactory(random: random)
        let address = AddressID(random: random).bytes
        func envelope(_ plaintext: [UInt8]) throws -> Envelope {
            try Envelope(sealedAddress: SealedBox.seal(plaintext, to: routes.service.publicKey, using: random), ciphertext: [])
        }
        #expect(try envelope([0x06, 0x01] + address).openAddress(with: routes.service).bytes == address)
        #expect(throws: WireError.unexpectedFormat(expected: .sealedAddress, actual: 0x05)) {
            try envelope([0x05, 0x01] + address).openAddress(with: routes.service)
        }
        #expect(throws: WireError.unknownVersion(format: .sealedAddress, version: 2)) {
            try envelope([0x06, 0x02] + address).openAddress(with: routes.service)
        }
    }

    @Test func refusesASealedAddressOfTheWrongSize() throws {
        #expect(throws: WireError.invalidValue(field: "sealed address", reason: "must be 66 bytes")) {
            try Envelope(sealedAddress: [UInt8](repeating: 0, count: 65), ciphertext: [])
        }
        // Through the parser: a sealed-address field shorter than 66 bytes.
        var writer = WireWriter(format: .envelope)
        writer.medium([UInt8](repeating: 0, count: 10))
        writer.long([])
        #expect(throws: WireError.invalidValue(field: "sealed address", reason: "must be 66 bytes")) {
            try Envelope(decoding: writer.bytes)
        }
    }

    @Test func refusesACiphertextOverTheLimit() throws {
        let limit = InitialMessage.maximumByteCount
        #expect(throws: WireError.oversized(field: "ciphertext", limit: limit, actual: limit + 1)) {
            try Envelope(sealedAddress: [UInt8](repeating: 0, count: 66), ciphertext: [UInt8](repeating: 0, count: limit + 1))
        }
        _ = try Envelope(sealedAddress: [UInt8](repeating: 0, count: 66), ciphertext: [UInt8](repeating: 0, count: limit))
    }
}
