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
        #expect(wire.count == 2 + 2 + 98 + 4 + 358)
    }

    /// The sealed address is good for its own ciphertext only: paired with other bytes it does
    /// not open, so whoever sees an envelope cannot reuse it to fill or probe the address.
    @Test func aSealedAddressIsBoundToItsCiphertext() throws {
        let routes = RouteFactory(random: random)
        let envelope = try Envelope(sealing: [1, 2, 3], to: try routes.route(), random: random)
        for other: [UInt8] in [[1, 2, 4], [1, 2, 3, 0], [], Array(repeating: 7, count: 382)] {
            let reused = try Envelope(sealedAddress: envelope.sealedAddress, ciphertext: other)
            #expect(throws: WireError.invalidValue(field: "sealed address", reason: "was sealed for another ciphertext")) {
                try reused.openAddress(with: routes.service)
            }
        }
        #expect(envelope.replayTag.count == 32)
        #expect(try Envelope(sealing: [1, 2, 3], to: try routes.route(), random: random).replayTag != envelope.replayTag)
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
        for index in [0, 31, 32, 47, 48, 65, 66, 97] {
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

    /// The sealed plaintext is format 0x06 version 2: tag, version, 16-byte address, SHA-256 of
    /// the ciphertext. Version 1 (no hash) is refused.
    @Test func refusesASealedAddressOfTheWrongFormatOrVersion() throws {
        let routes = RouteFactory(random: random)
        let address = AddressID(random: random).bytes
        let bound = SHA256.hash([])
        func envelope(_ plaintext: [UInt8]) throws -> Envelope {
            let sealed = try SealedBox.seal(plaintext, to: routes.service.publicKey, using: random)
            return try Envelope(sealedAddress: sealed + [UInt8](repeating: 0, count: Envelope.sealedAddressByteCount - sealed.count), ciphertext: [])
        }
        #expect(try envelope([0x06, 0x02] + address + bound).openAddress(with: routes.service).bytes == address)
        #expect(throws: WireError.unexpectedFormat(expected: .sealedAddress, actual: 0x05)) {
            try envelope([0x05, 0x02] + address + bound).openAddress(with: routes.service)
        }
        #expect(throws: WireError.unknownVersion(format: .sealedAddress, version: 1)) {
            try envelope([0x06, 0x01] + address + bound).openAddress(with: routes.service)
        }
    }

    @Test func refusesASealedAddressOfTheWrongSize() throws {
        #expect(throws: WireError.invalidValue(field: "sealed address", reason: "must be 98 bytes")) {
            try Envelope(sealedAddress: [UInt8](repeating: 0, count: 97), ciphertext: [])
        }
        // Through the parser: a sealed-address field shorter than 98 bytes.
        var writer = WireWriter(format: .envelope)
        writer.medium([UInt8](repeating: 0, count: 10))
        writer.long([])
        #expect(throws: WireError.invalidValue(field: "sealed address", reason: "must be 98 bytes")) {
            try Envelope(decoding: writer.bytes)
        }
    }

    @Test func refusesACiphertextOverTheLimit() throws {
        let limit = InitialMessage.maximumByteCount
        #expect(throws: WireError.oversized(field: "ciphertext", limit: limit, actual: limit + 1)) {
            try Envelope(sealedAddress: [UInt8](repeating: 0, count: 98), ciphertext: [UInt8](repeating: 0, count: limit + 1))
        }
        _ = try Envelope(sealedAddress: [UInt8](repeating: 0, count: 98), ciphertext: [UInt8](repeating: 0, count: limit))
    }
}
