import Foundation
import ProtonCrypto
import Testing

@testable import ProtonPairing

@Suite struct NoiseKeyDerivationTests {
    /// SymmetricState relies on RFC 5869 HKDF (salt = ck, empty info) being the Noise spec's
    /// section 4.3 HKDF; this checks the two against each other, spelled out with HMAC.
    @Test func hkdfMatchesNoiseSection4_3() throws {
        let chainingKey = SecureBytes(SystemRandom().bytes(32))
        let inputKeyMaterial = SecureBytes(SystemRandom().bytes(32))
        let tempKey = HMACSHA256.authenticationCode(for: inputKeyMaterial.unsafeExportedBytes(), using: chainingKey)
        let output1 = HMACSHA256.authenticationCode(for: [0x01], using: tempKey).unsafeExportedBytes()
        let output2 = HMACSHA256.authenticationCode(for: output1 + [0x02], using: tempKey).unsafeExportedBytes()
        let derived = try HKDF.deriveKey(
            inputKeyMaterial: inputKeyMaterial, salt: chainingKey, info: [], outputByteCount: 64
        ).unsafeExportedBytes()
        #expect(derived == output1 + output2)
    }

    @Test func cipherNonceIsSixteenZerosThenLittleEndianCounter() throws {
        let key = SecureBytes(SystemRandom().bytes(32))
        var cipher = CipherState(key: key)
        _ = try cipher.encrypt(associatedData: [], plaintext: [0])
        let second = try cipher.encrypt(associatedData: [9], plaintext: [1, 2])
        let nonce = [UInt8](repeating: 0, count: 16) + [1, 0, 0, 0, 0, 0, 0, 0]
        let expected = try XChaCha20Poly1305.seal(
            [1, 2], using: XChaCha20Poly1305.Key(key), nonce: nonce, authenticating: [9])
        #expect(second == expected)
    }
}
