import Testing

@testable import ProtonCore

struct Base64URLTests {
    /// RFC 4648 section 10, without padding, and the two characters base64url changes.
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func matchesRFC4648Vectors(_ plain: String, _ encoded: String) throws {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(try Base64URL.decode(encoded, limit: 16) == Array(plain.utf8))
    }

    @Test func usesTheURLSafeAlphabet() throws {
        #expect(Base64URL.encode([0xfb, 0xff, 0xbf]) == "-_-_")
        #expect(try Base64URL.decode("-_-_", limit: 3) == [0xfb, 0xff, 0xbf])
    }

    @Test func roundTripsEveryLengthAndByte() throws {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            #expect(try Base64URL.decode(Base64URL.encode(bytes), limit: length) == bytes)
        }
        let all = (0...255).map { UInt8($0) }
        #expect(try Base64URL.decode(Base64URL.encode(all), limit: 256) == all)
    }

    @Test(arguments: ["Zg==", "Zm9v+", "Zm9v/", "Zm 9v", "Z", "Zm9vY", "Zm9\u{e9}"])
    func refusesAnythingButUnpaddedBase64URL(_ text: String) {
        #expect(throws: WireError.self) { try Base64URL.decode(text, limit: 16) }
    }

    /// Padding is refused as bad base64 whatever the length: a padded text too long for the
    /// limit is not "too long".
    @Test func paddingIsRefusedBeforeLength() {
        let padded = String(repeating: "A", count: 40) + "=="
        #expect {
            try Base64URL.decode(padded, limit: 3)
        } throws: { error in
            if case WireError.invalidValue = error { return true }
            return false
        }
        #expect {
            try Base64URL.decode(String(repeating: "A", count: 40), limit: 3)
        } throws: { error in
            if case WireError.oversized = error { return true }
            return false
        }
    }

    /// Found by the `base64url` fuzz target: "AAEAAEC" decoded to the same bytes as "AAEAAEA",
    /// two texts for one value. The unused low bits of the last character must be zero.
    @Test(arguments: ["AAEAAEC", "AAEAAED", "Zh", "Zm9vYg1", "Zm9vYmF"])
    func refusesALastCharacterWithUnusedBitsSet(_ text: String) {
        #expect(throws: WireError.self) { try Base64URL.decode(text, limit: 100) }
    }

    @Test func acceptsTheCanonicalLastCharacters() throws {
        #expect(try Base64URL.decode("AAEAAEA", limit: 100) == [0, 1, 0, 0, 64])
        #expect(try Base64URL.decode("Zg", limit: 100) == Array("f".utf8))
        #expect(try Base64URL.decode("Zm9vYmE", limit: 100) == Array("fooba".utf8))
    }

    @Test func refusesTextThatDecodesPastTheLimit() {
        #expect(throws: WireError.self) { try Base64URL.decode("Zm9vYg", limit: 3) }
        #expect(throws: Never.self) { try Base64URL.decode("Zm9v", limit: 3) }
    }
}
