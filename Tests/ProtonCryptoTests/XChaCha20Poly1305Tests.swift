import ProtonCrypto
import Testing

/// draft-irtf-cfrg-xchacha-03, appendix A.3.1: the AEAD_XChaCha20_Poly1305 example.
enum XChaChaDraftVector {
    static let plaintext = """
        4c616469657320616e642047656e746c
        656d656e206f662074686520636c6173
        73206f66202739393a20496620492063
        6f756c64206f6666657220796f75206f
        6e6c79206f6e652074697020666f7220
        746865206675747572652c2073756e73
        637265656e20776f756c642062652069
        742e
        """
    static let associatedData = "50515253c0c1c2c3c4c5c6c7"
    static let key = """
        808182838485868788898a8b8c8d8e8f
        909192939495969798999a9b9c9d9e9f
        """
    static let nonce = "404142434445464748494a4b4c4d4e4f5051525354555657"
    static let ciphertext = """
        bd6d179d3e83d43b9576579493c0e939
        572a1700252bfaccbed2902c21396cbb
        731c7f1b0b4aa6440bf3a82f4eda7e39
        ae64c6708c54c216cb96b72e1213b452
        2f8c9ba40db5d945b11b69b982c1bb9e
        3f3fac2bc369488f76b2383565d3fff9
        21f9664c97637da9768812f615c68b13
        b52e
        """
    static let tag = "c0875924c1c7987947deafd8780acf49"
}

struct XChaCha20Poly1305Tests {
    private let key = XChaCha20Poly1305.Key(using: DeterministicRandom(seed: "xchacha key"))
    private let nonce = DeterministicRandom(seed: "xchacha nonce").bytes(XChaCha20Poly1305.nonceByteCount)
    private let message = Array("the quick brown fox jumps over the lazy dog".utf8)
    private let associatedData = Array("header v1".utf8)

    private func draftKey() throws -> XChaCha20Poly1305.Key {
        try XChaCha20Poly1305.Key(SecureBytes(Hex.bytes(XChaChaDraftVector.key)))
    }

    @Test func draftPlaintextIsTheSunscreenSentence() {
        let text = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
        #expect(Hex.bytes(XChaChaDraftVector.plaintext) == Array(text.utf8))
    }

    @Test func sealMatchesDraftXChaChaA_3_1() throws {
        let sealed = try XChaCha20Poly1305.seal(
            Hex.bytes(XChaChaDraftVector.plaintext), using: draftKey(), nonce: Hex.bytes(XChaChaDraftVector.nonce),
            authenticating: Hex.bytes(XChaChaDraftVector.associatedData))
        #expect(Hex.string(sealed) == Hex.normalized(XChaChaDraftVector.ciphertext + XChaChaDraftVector.tag))
    }

    @Test func openRecoversDraftXChaChaA_3_1Plaintext() throws {
        let opened = try XChaCha20Poly1305.open(
            Hex.bytes(XChaChaDraftVector.ciphertext + XChaChaDraftVector.tag), using: draftKey(),
            nonce: Hex.bytes(XChaChaDraftVector.nonce), authenticating: Hex.bytes(XChaChaDraftVector.associatedData))
        #expect(opened == Hex.bytes(XChaChaDraftVector.plaintext))
    }

    @Test func roundTripsWithAssociatedData() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce, authenticating: associatedData)
        #expect(sealed.count == message.count + XChaCha20Poly1305.tagByteCount)
        #expect(Array(sealed.prefix(message.count)) != message)
        let opened = try XChaCha20Poly1305.open(sealed, using: key, nonce: nonce, authenticating: associatedData)
        #expect(opened == message)
    }

    @Test func roundTripsEmptyPlaintext() throws {
        let sealed = try XChaCha20Poly1305.seal([], using: key, nonce: nonce)
        #expect(sealed.count == XChaCha20Poly1305.tagByteCount)
        #expect(try XChaCha20Poly1305.open(sealed, using: key, nonce: nonce).isEmpty)
    }

    @Test func rejectsTamperedCiphertext() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce, authenticating: associatedData)
        for bit in [0, 7, 8 * message.count - 1] {
            #expect(throws: CryptoError.authenticationFailure) {
                try XChaCha20Poly1305.open(sealed.flippingBit(bit), using: key, nonce: nonce, authenticating: associatedData)
            }
        }
    }

    @Test func rejectsTamperedTag() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce, authenticating: associatedData)
        for byte in sealed.count - XChaCha20Poly1305.tagByteCount..<sealed.count {
            #expect(throws: CryptoError.authenticationFailure) {
                try XChaCha20Poly1305.open(sealed.flippingBit(byte * 8), using: key, nonce: nonce, authenticating: associatedData)
            }
        }
    }

    @Test func rejectsTamperedNonce() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce, authenticating: associatedData)
        // Both the HChaCha20 part (first 16 bytes) and the ChaCha20 part (last 8) of the nonce matter.
        for bit in [0, 127, 128, 191] {
            #expect(throws: CryptoError.authenticationFailure) {
                try XChaCha20Poly1305.open(sealed, using: key, nonce: nonce.flippingBit(bit), authenticating: associatedData)
            }
        }
    }

    @Test func rejectsTamperedAssociatedData() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce, authenticating: associatedData)
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open(sealed, using: key, nonce: nonce, authenticating: associatedData.flippingBit(3))
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open(sealed, using: key, nonce: nonce, authenticating: [])
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open(sealed, using: key, nonce: nonce, authenticating: associatedData + [0])
        }
    }

    @Test func rejectsWrongKey() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce, authenticating: associatedData)
        let otherKey = XChaCha20Poly1305.Key(using: DeterministicRandom(seed: "another key"))
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open(sealed, using: otherKey, nonce: nonce, authenticating: associatedData)
        }
    }

    @Test func rejectsTruncatedInput() throws {
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce)
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open(Array(sealed.dropLast()), using: key, nonce: nonce)
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open(Array(sealed.prefix(XChaCha20Poly1305.tagByteCount - 1)), using: key, nonce: nonce)
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try XChaCha20Poly1305.open([], using: key, nonce: nonce)
        }
    }

    @Test(arguments: [0, 12, 23, 25, 32])
    func rejectsWrongNonceLength(_ length: Int) throws {
        let badNonce = [UInt8](repeating: 0x42, count: length)
        #expect(throws: CryptoError.invalidLength(expected: 24, actual: length)) {
            try XChaCha20Poly1305.seal(message, using: key, nonce: badNonce)
        }
        let sealed = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce)
        #expect(throws: CryptoError.invalidLength(expected: 24, actual: length)) {
            try XChaCha20Poly1305.open(sealed, using: key, nonce: badNonce)
        }
    }

    @Test func rejectsWrongKeyLength() {
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 16)) {
            try XChaCha20Poly1305.Key(SecureBytes([UInt8](repeating: 1, count: 16)))
        }
    }

    @Test func sameKeyAndNonceIsDeterministicDifferentNonceIsNot() throws {
        let a = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce)
        let b = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce)
        let c = try XChaCha20Poly1305.seal(message, using: key, nonce: nonce.flippingBit(0))
        #expect(a == b)
        #expect(a != c)
    }
}
