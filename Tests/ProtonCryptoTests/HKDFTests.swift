import ProtonCrypto
import Testing

/// One SHA-256 test case from RFC 5869 Appendix A, copied as the RFC prints it.
struct HKDFVector: Sendable, CustomTestStringConvertible {
    let name: String
    let ikm: String
    let salt: String
    let info: String
    let length: Int
    let prk: String
    let okm: String

    var testDescription: String { name }
}

/// RFC 5869, Appendix A.1-A.3 (the SHA-256 cases).
let rfc5869Vectors: [HKDFVector] = [
    HKDFVector(
        name: "A.1 Test Case 1 (basic)",
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "000102030405060708090a0b0c",
        info: "f0f1f2f3f4f5f6f7f8f9",
        length: 42,
        prk: """
            077709362c2e32df0ddc3f0dc47bba63
            90b6c73bb50f9c3122ec844ad7c2b3e5
            """,
        okm: """
            3cb25f25faacd57a90434f64d0362f2a
            2d2d0a90cf1a5a4c5db02d56ecc4c5bf
            34007208d5b887185865
            """),
    HKDFVector(
        name: "A.2 Test Case 2 (longer inputs/outputs)",
        ikm: """
            000102030405060708090a0b0c0d0e0f
            101112131415161718191a1b1c1d1e1f
            202122232425262728292a2b2c2d2e2f
            303132333435363738393a3b3c3d3e3f
            404142434445464748494a4b4c4d4e4f
            """,
        salt: """
            606162636465666768696a6b6c6d6e6f
            707172737475767778797a7b7c7d7e7f
            808182838485868788898a8b8c8d8e8f
            909192939495969798999a9b9c9d9e9f
            a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
            """,
        info: """
            b0b1b2b3b4b5b6b7b8b9babbbcbdbebf
            c0c1c2c3c4c5c6c7c8c9cacbcccdcecf
            d0d1d2d3d4d5d6d7d8d9dadbdcdddedf
            e0e1e2e3e4e5e6e7e8e9eaebecedeeef
            f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
            """,
        length: 82,
        prk: """
            06a6b88c5853361a06104c9ceb35b45c
            ef760014904671014a193f40c15fc244
            """,
        okm: """
            b11e398dc80327a1c8e7f78c596a4934
            4f012eda2d4efad8a050cc4c19afa97c
            59045a99cac7827271cb41c65e590e09
            da3275600c2f09b8367793a9aca3db71
            cc30c58179ec3e87c14c01d5c1f3434f
            1d87
            """),
    HKDFVector(
        name: "A.3 Test Case 3 (zero-length salt and info)",
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "",
        info: "",
        length: 42,
        prk: """
            19ef24a32c717b167f33a91d6f648bdf
            96596776afdb6377ac434c1c293ccb04
            """,
        okm: """
            8da4e775a563c18f715f802a063c5a31
            b8a11f5c5ee1879ec3454e5f3c738d2d
            9d201395faa4b61a96c8
            """),
]

struct HKDFTests {
    @Test(arguments: rfc5869Vectors)
    func vectorInputsHaveTheLengthsTheRFCStates(_ vector: HKDFVector) {
        // The RFC prints each value's octet count; a dropped pair of digits shows up here.
        let expected: (ikm: Int, salt: Int, info: Int) =
            vector.length == 82 ? (80, 80, 80) : vector.salt.isEmpty ? (22, 0, 0) : (22, 13, 10)
        #expect(Hex.bytes(vector.ikm).count == expected.ikm)
        #expect(Hex.bytes(vector.salt).count == expected.salt)
        #expect(Hex.bytes(vector.info).count == expected.info)
        #expect(Hex.bytes(vector.prk).count == 32)
        #expect(Hex.bytes(vector.okm).count == vector.length)
    }

    @Test(arguments: rfc5869Vectors)
    func extractMatchesRFC5869PRK(_ vector: HKDFVector) {
        let prk = HKDF.extract(salt: Hex.bytes(vector.salt), inputKeyMaterial: SecureBytes(Hex.bytes(vector.ikm)))
        #expect(prk.hex == Hex.normalized(vector.prk))
    }

    @Test(arguments: rfc5869Vectors)
    func deriveKeyMatchesRFC5869OKM(_ vector: HKDFVector) throws {
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: SecureBytes(Hex.bytes(vector.ikm)), salt: Hex.bytes(vector.salt),
            info: Hex.bytes(vector.info), outputByteCount: vector.length)
        #expect(okm.count == vector.length)
        #expect(okm.hex == Hex.normalized(vector.okm))
    }

    @Test(arguments: rfc5869Vectors)
    func expandOfPublishedPRKMatchesRFC5869OKM(_ vector: HKDFVector) throws {
        let okm = try HKDF.expand(
            pseudoRandomKey: SecureBytes(Hex.bytes(vector.prk)), info: Hex.bytes(vector.info),
            outputByteCount: vector.length)
        #expect(okm.hex == Hex.normalized(vector.okm))
    }

    @Test(arguments: rfc5869Vectors)
    func secretSaltOverloadAgreesWithArraySalt(_ vector: HKDFVector) throws {
        // Test Case 3's empty salt must mean HashLen zero bytes either way (RFC 5869 section 2.2).
        let ikm = SecureBytes(Hex.bytes(vector.ikm))
        let prk = HKDF.extract(salt: SecureBytes(Hex.bytes(vector.salt)), inputKeyMaterial: ikm)
        #expect(prk.hex == Hex.normalized(vector.prk))
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: ikm, salt: SecureBytes(Hex.bytes(vector.salt)), info: Hex.bytes(vector.info),
            outputByteCount: vector.length)
        #expect(okm.hex == Hex.normalized(vector.okm))
    }

    @Test func emptySaltMeansHashLenZeroBytes() {
        let ikm = SecureBytes(Hex.bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"))
        let withEmpty = HKDF.extract(salt: [], inputKeyMaterial: ikm)
        let withZeros = HKDF.extract(salt: [UInt8](repeating: 0, count: 32), inputKeyMaterial: ikm)
        #expect(withEmpty.isEqual(to: withZeros))
    }

    @Test func rejectsOutputLongerThan255HashLengths() {
        let ikm = SecureBytes([UInt8](repeating: 0x0b, count: 22))
        #expect(HKDF.maximumOutputByteCount == 255 * 32)
        #expect(throws: CryptoError.invalidOutputLength(255 * 32 + 1)) {
            try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: [], outputByteCount: 255 * 32 + 1)
        }
        #expect(throws: CryptoError.invalidOutputLength(255 * 32 + 1)) {
            try HKDF.expand(pseudoRandomKey: SecureBytes([UInt8](repeating: 1, count: 32)), info: [],
                            outputByteCount: 255 * 32 + 1)
        }
    }

    @Test func acceptsExactly255HashLengths() throws {
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: SecureBytes([UInt8](repeating: 0x0b, count: 22)), salt: [], info: [],
            outputByteCount: 255 * 32)
        #expect(okm.count == 255 * 32)
    }

    @Test(arguments: [0, -1])
    func rejectsNonPositiveOutputLength(_ length: Int) {
        #expect(throws: CryptoError.invalidOutputLength(length)) {
            try HKDF.deriveKey(inputKeyMaterial: SecureBytes([1, 2, 3]), salt: [], info: [], outputByteCount: length)
        }
    }

    @Test func shorterOutputIsPrefixOfLongerOutput() throws {
        let ikm = SecureBytes(Hex.bytes(rfc5869Vectors[1].ikm))
        let salt = Hex.bytes(rfc5869Vectors[1].salt)
        let info = Hex.bytes(rfc5869Vectors[1].info)
        let long = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: 100)
        for length in [1, 31, 32, 33, 64, 65, 82] {
            let short = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: length)
            #expect(short.unsafeExportedBytes() == Array(long.unsafeExportedBytes().prefix(length)))
        }
    }

    @Test func differentInfoGivesIndependentKeys() throws {
        let ikm = SecureBytes([UInt8](repeating: 7, count: 32))
        let a = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: Array("a".utf8), outputByteCount: 32)
        let b = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: Array("b".utf8), outputByteCount: 32)
        #expect(!a.isEqual(to: b))
    }
}

/// RFC 4231 section 4 test cases for HMAC-SHA-256.
struct HMACSHA256Tests {
    @Test func matchesRFC4231TestCase2() {
        // Key = "Jefe", Data = "what do ya want for nothing?"
        #expect(Hex.string(Array("Jefe".utf8)) == "4a656665")
        #expect(Hex.string(Array("what do ya want for nothing?".utf8))
                == "7768617420646f2079612077616e7420666f72206e6f7468696e673f")
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        let message = Array("what do ya want for nothing?".utf8)
        #expect(HMACSHA256.authenticationCode(for: message, using: Array("Jefe".utf8)).hex == expected)
        #expect(HMACSHA256.authenticationCode(for: message, using: SecureBytes(Array("Jefe".utf8))).hex == expected)
    }

    @Test func matchesRFC4231TestCase1() {
        let key = [UInt8](repeating: 0x0b, count: 20)
        let mac = HMACSHA256.authenticationCode(for: Array("Hi There".utf8), using: key)
        #expect(mac.hex == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func hashesKeysLongerThanTheBlockRFC4231TestCase6() {
        let key = [UInt8](repeating: 0xaa, count: 131)
        let mac = HMACSHA256.authenticationCode(
            for: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8), using: key)
        #expect(mac.hex == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func acceptsEmptyKeyAndMessage() {
        let mac = HMACSHA256.authenticationCode(for: [], using: [UInt8]())
        #expect(mac.count == HMACSHA256.byteCount)
    }
}
