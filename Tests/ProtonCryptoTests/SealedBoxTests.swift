import ProtonCrypto
import Testing

struct SealedBoxTests {
    private let recipient = SealedBox.PrivateKey(using: DeterministicRandom(seed: "recipient"))
    private let message = Array("meet me by the old oak at noon".utf8)

    @Test func overheadIsEphemeralKeyPlusTag() {
        #expect(SealedBox.overheadByteCount == 32 + 16)
    }

    @Test func roundTrips() throws {
        let sealed = try SealedBox.seal(message, to: recipient.publicKey)
        #expect(try SealedBox.open(sealed, with: recipient) == message)
    }

    @Test(arguments: [0, 1, 31, 32, 1000])
    func outputLengthIsMessagePlusOverhead(_ length: Int) throws {
        let plaintext = [UInt8](repeating: 0x5a, count: length)
        let sealed = try SealedBox.seal(plaintext, to: recipient.publicKey)
        #expect(sealed.count == length + SealedBox.overheadByteCount)
        #expect(try SealedBox.open(sealed, with: recipient) == plaintext)
    }

    @Test func rejectsTamperingAnywhere() throws {
        let sealed = try SealedBox.seal(message, to: recipient.publicKey)
        // Ephemeral public key (0..<32), tag (32..<48), ciphertext (48...).
        for byte in [0, 15, 31, 32, 40, 47, 48, 60, sealed.count - 1] {
            #expect(throws: CryptoError.authenticationFailure, "byte \(byte)") {
                try SealedBox.open(sealed.flippingBit(byte * 8), with: recipient)
            }
        }
    }

    @Test func rejectsWrongRecipient() throws {
        let sealed = try SealedBox.seal(message, to: recipient.publicKey)
        let stranger = SealedBox.PrivateKey(using: DeterministicRandom(seed: "stranger"))
        #expect(throws: CryptoError.authenticationFailure) {
            try SealedBox.open(sealed, with: stranger)
        }
    }

    @Test func rejectsTruncatedBox() throws {
        let sealed = try SealedBox.seal(message, to: recipient.publicKey)
        #expect(throws: CryptoError.authenticationFailure) {
            try SealedBox.open(Array(sealed.dropLast()), with: recipient)
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try SealedBox.open(Array(sealed.prefix(SealedBox.overheadByteCount - 1)), with: recipient)
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try SealedBox.open([], with: recipient)
        }
    }

    @Test func sameSeedSealsIdenticalBoxes() throws {
        let a = try SealedBox.seal(message, to: recipient.publicKey, using: DeterministicRandom(seed: "ephemeral"))
        let b = try SealedBox.seal(message, to: recipient.publicKey, using: DeterministicRandom(seed: "ephemeral"))
        #expect(a == b)
    }

    @Test func differentSeedSealsDifferentBoxes() throws {
        let a = try SealedBox.seal(message, to: recipient.publicKey, using: DeterministicRandom(seed: "ephemeral"))
        let b = try SealedBox.seal(message, to: recipient.publicKey, using: DeterministicRandom(seed: "ephemeral 2"))
        #expect(a != b)
        #expect(Array(a.prefix(32)) != Array(b.prefix(32)))
        #expect(try SealedBox.open(a, with: recipient) == message)
        #expect(try SealedBox.open(b, with: recipient) == message)
    }

    @Test func systemRandomSealsFreshBoxesEachTime() throws {
        let a = try SealedBox.seal(message, to: recipient.publicKey)
        let b = try SealedBox.seal(message, to: recipient.publicKey)
        #expect(a != b)
    }

    @Test func restoredPrivateKeyOpensTheBox() throws {
        let sealed = try SealedBox.seal(message, to: recipient.publicKey)
        let restored = try SealedBox.PrivateKey(secretBytes: recipient.secretBytes)
        #expect(restored.publicKey == recipient.publicKey)
        #expect(try SealedBox.open(sealed, with: restored) == message)
    }

    @Test func rejectsWrongLengthKeys() {
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 33)) {
            try SealedBox.PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 33))
        }
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 8)) {
            try SealedBox.PrivateKey(secretBytes: SecureBytes([UInt8](repeating: 1, count: 8)))
        }
    }

    @Test func descriptionIsAShortFingerprint() {
        #expect(recipient.publicKey.description.hasPrefix("sealed:"))
        #expect(recipient.publicKey.description.count == "sealed:".count + 12)
    }

    @Test func refusesToSealToALowOrderKey() throws {
        let zero = try SealedBox.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 32))
        #expect(throws: CryptoError.invalidPublicKey) { try SealedBox.seal([1, 2, 3], to: zero) }
    }
}
