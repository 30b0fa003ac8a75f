import ProtonCrypto
import Testing

@testable import ProtonCore

struct Base45Tests {
    /// RFC 9285 section 4.3 (encoding examples) and 4.4 (decoding example).
    @Test(arguments: [
        ("AB", "BB8"),
        ("Hello!!", "%69 VD92EX0"),
        ("base-45", "UJCLQE7W581"),
        ("ietf!", "QED8WEX0"),
    ])
    func matchesRFC9285Examples(_ plain: String, _ encoded: String) throws {
        #expect(Base45.encode(Array(plain.utf8)) == encoded)
        #expect(try Base45.decode(encoded) == Array(plain.utf8))
    }

    @Test func decodesTheRFCDecodingExample() throws {
        #expect(String(decoding: try Base45.decode("QED8WEX0"), as: UTF8.self) == "ietf!")
    }

    @Test func refusesTheRFCInvalidExampleGGW() {
        // Section 4.4: "GGW" is 65536, one more than two bytes hold.
        #expect(throws: Base45.Error.valueOutOfRange(offset: 0)) { try Base45.decode("GGW") }
    }

    @Test func encodesTheEmptyString() throws {
        #expect(Base45.encode([]) == "")
        #expect(try Base45.decode("") == [])
    }

    @Test func roundTripsRandomBytesOfEveryLengthUpTo200() throws {
        let random = DeterministicRandom(seed: "base45 round trips")
        for length in 0...200 {
            let bytes = random.bytes(length)
            let text = Base45.encode(bytes)
            #expect(text.utf8.count == length / 2 * 3 + (length % 2) * 2)
            #expect(try Base45.decode(text) == bytes, "length \(length)")
        }
    }

    @Test func roundTripsTheExtremeByteValues() throws {
        for bytes: [UInt8] in [[0], [0xff], [0, 0], [0xff, 0xff], [0xff, 0xff, 0xff], [0, 0xff, 0]] {
            #expect(try Base45.decode(Base45.encode(bytes)) == bytes)
        }
        #expect(Base45.encode([0xff, 0xff]) == "FGW")
        #expect(Base45.encode([0xff]) == "U5")
    }

    @Test func usesOnlyQRAlphanumericCharacters() {
        let text = Base45.encode(DeterministicRandom(seed: "alphabet").bytes(3000))
        let alphanumeric = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".utf8)
        #expect(text.utf8.allSatisfy { alphanumeric.contains($0) })
    }

    @Test(arguments: [
        ("bb8", 0),  // lowercase is not in the alphabet
        ("BB#", 2),
        ("BB8B_8", 4),
        ("BB8\u{00e9}", 3),  // a two-byte UTF-8 character: its first byte is refused
        ("=B", 0),
    ])
    func refusesCharactersOutsideTheAlphabet(_ text: String, _ offset: Int) {
        #expect(throws: Base45.Error.invalidCharacter(offset: offset)) { try Base45.decode(text) }
    }

    @Test(arguments: ["A", "BB8B", "BB8BB8B", "%69 VD92EX0AB"])
    func refusesLengthsThatLeaveOneCharacter(_ text: String) {
        #expect(text.utf8.count % 3 == 1)
        #expect(throws: Base45.Error.invalidLength) { try Base45.decode(text) }
    }

    @Test(arguments: [
        ("GGW", 0),  // 65536
        (":::", 0),  // 44 + 44*45 + 44*2025 = 91124
        ("BB8GGW", 3),
        ("ZZ", 0),  // a trailing pair above 255: 35 + 35*45 = 1610
        ("BB8ZZ", 3),
        ("U6", 0),  // 30 + 6*45 = 300
    ])
    func refusesGroupsOutOfRange(_ text: String, _ offset: Int) {
        #expect(throws: Base45.Error.valueOutOfRange(offset: offset)) { try Base45.decode(text) }
    }

    @Test func acceptsTheLargestValidGroups() throws {
        #expect(try Base45.decode("FGW") == [0xff, 0xff])
        #expect(try Base45.decode("U5") == [0xff])
    }

    @Test func refusesInputOverTheCallersLimit() throws {
        let text = String(repeating: "BB8", count: 10)
        #expect(throws: Base45.Error.tooLong(limit: 29)) { try Base45.decode(text, limit: 29) }
        #expect(try Base45.decode(text, limit: 30).count == 20)
    }
}
