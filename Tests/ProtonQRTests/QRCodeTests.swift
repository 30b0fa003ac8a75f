import Foundation
import ProtonCore
import ProtonCrypto
import ProtonQR
import Testing

@Suite("QR encoding")
struct QRCodeTests {
    /// The demo's invite: a loopback receiving service URI, 205 bytes, 308 Base45 characters.
    static func typicalInviteText(serviceURI: String = "http://127.0.0.1:39953") throws -> String {
        let route = try Route(serviceURI: serviceURI, serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom()))
        return Invite(identity: Ed25519.PrivateKey(), prekey: X25519.PrivateKey().publicKey, route: route, expires: Date()).qrText
    }

    @Test func typicalInviteFitsVersion10AtLevelM() throws {
        let text = try Self.typicalInviteText()
        #expect(text.count == 308)
        let code = try QRCode.encode(alphanumeric: text, maximumVersion: 10)
        #expect(code.version == 10)
        #expect(code.size == 4 * 10 + 17)
        #expect(code.withQuietZone().width == code.size + 8)
    }

    @Test func refusesTextThatNeedsALargerVersionThanAllowed() throws {
        // A 31-byte service URI makes a 214-byte invite: 321 characters, over version 10-M's 311.
        let text = try Self.typicalInviteText(serviceURI: "https://receiving.example.org/v1")
        #expect(throws: QRError.tooLarge(requiredVersion: 11, maximumVersion: 10, characters: text.count)) {
            try QRCode.encode(alphanumeric: text, maximumVersion: 10)
        }
        #expect(try QRCode.encode(alphanumeric: text, maximumVersion: 40).version == 11)
    }

    @Test func refusesTextNoSymbolCanHold() {
        let text = String(repeating: "A", count: 5_000)
        #expect(throws: QRError.tooLarge(requiredVersion: nil, maximumVersion: 40, characters: 5_000)) {
            try QRCode.encode(alphanumeric: text)
        }
    }

    @Test(arguments: [("invite", 0, Character("i")), ("AB\u{0}C", 2, Character("\u{0}")), ("ÄB", 0, Character("Ä")), ("A\nB", 1, Character("\n"))])
    func refusesCharactersOutsideAlphanumericMode(text: String, offset: Int, character: Character) {
        #expect(throws: QRError.notAlphanumeric(character: character, offset: offset)) {
            try QRCode.encode(alphanumeric: text)
        }
    }

    @Test func refusesEmptyText() {
        #expect(throws: QRError.empty) { try QRCode.encode(alphanumeric: "") }
    }

    @Test func everyBase45CharacterIsAlphanumeric() throws {
        let all = String(QRCode.alphanumericCharacters.sorted())
        #expect(all.count == 45)
        #expect(Base45.encode(Array(0...255)).allSatisfy(QRCode.alphanumericCharacters.contains))
        #expect(try QRCode.encode(alphanumeric: all).version == 3)
    }
}
