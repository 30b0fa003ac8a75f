import ProtonCrypto
import Testing

struct Argon2idTests {
    private let passphrase = SecureBytes(Array("correct horse battery staple".utf8))
    private let salt = [UInt8](repeating: 0x5a, count: Argon2id.saltByteCount)

    @Test func saltIs16Bytes() {
        #expect(Argon2id.saltByteCount == 16)
    }

    @Test func minimumCostIsCheaperThanInteractive() {
        #expect(Argon2id.Cost.minimum.operations <= Argon2id.Cost.interactive.operations)
        #expect(Argon2id.Cost.minimum.memoryBytes < Argon2id.Cost.interactive.memoryBytes)
    }

    @Test func sameInputsDeriveTheSameKey() throws {
        let a = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: .minimum)
        let b = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: .minimum)
        #expect(a.count == 32)
        #expect(a.isEqual(to: b))
    }

    @Test func differentSaltDerivesADifferentKey() throws {
        let a = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: .minimum)
        let b = try Argon2id.deriveKey(passphrase: passphrase, salt: salt.flippingBit(0), cost: .minimum)
        #expect(!a.isEqual(to: b))
    }

    @Test func differentPassphraseDerivesADifferentKey() throws {
        let a = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: .minimum)
        let b = try Argon2id.deriveKey(
            passphrase: SecureBytes(Array("correct horse battery stapler".utf8)), salt: salt, cost: .minimum)
        #expect(!a.isEqual(to: b))
    }

    @Test func differentCostDerivesADifferentKey() throws {
        let cheap = Argon2id.Cost.minimum
        let dearer = Argon2id.Cost(operations: cheap.operations + 1, memoryBytes: cheap.memoryBytes)
        let a = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: cheap)
        let b = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: dearer)
        #expect(!a.isEqual(to: b))
    }

    @Test func emptyPassphraseIsAccepted() throws {
        let key = try Argon2id.deriveKey(passphrase: SecureBytes([UInt8]()), salt: salt, cost: .minimum)
        #expect(key.count == 32)
    }

    @Test(arguments: [16, 32, 64])
    func honoursRequestedOutputLength(_ length: Int) throws {
        let key = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, cost: .minimum, outputByteCount: length)
        #expect(key.count == length)
    }

    @Test(arguments: [0, 15, 17, 32])
    func rejectsWrongSaltLength(_ length: Int) {
        #expect(throws: CryptoError.invalidLength(expected: 16, actual: length)) {
            try Argon2id.deriveKey(
                passphrase: passphrase, salt: [UInt8](repeating: 1, count: length), cost: .minimum)
        }
    }
}
