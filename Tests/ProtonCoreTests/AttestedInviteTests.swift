import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// Invites that carry an attestation (version 2): opaque to the invite, covered by its
/// signature, and invisible to invites without one, which stay byte for byte version 1.
struct AttestedInviteTests {
    static let attestation = Array(0..<16 as Range<UInt8>)

    /// docs/wire-format.md, "Invite with an attestation": the invite vector's keys and route with
    /// the 16 bytes 00…0f as the attestation.
    static let vectorSignature = "fe70d1388acbe850b4df819bfc235825be45a74c4cc477f91096f464398e6ce25fa5fa4317d313aff3c81cd4d81ea155567827f65fc6b91f61a0df817ec8af08"

    static let vectorQRText =
        "X503M9Z9OHSUWA1ANFKHS1D1/BKKBOXE5DVF*NHD OHL4IZOLQV2D3DH19WU53E6XOSURJCEI 0JJ68DCUXO*QL:X7Z-1C4F+E4HPD/L4O93MWEW9E0G7-:5BPEB$CBECP9ERZC04E02DH.EO14PCN%5CAM0:HBJ.Q X58QUVP2T.3MER.01GGT610D 8-F7PMCQDUFVA8TB%DKU9SLFD6VUG00100KB0*M0DY0W016C1PN1:Y1L7WAKQQOHRGT/%MEHGH*VK6BJ2OX6LWV9N7FG42E+UJC7JYD54CWSVO03:L2% U0T3LER HK--AF25%4C6INHFCMBSB1GX5M"

    static func vector() throws -> Invite {
        let random = DeterministicRandom(seed: "proton/vectors/invite")
        let identity = Ed25519.PrivateKey(using: random)
        let prekey = X25519.PrivateKey(using: random)
        let service = SealedBox.PrivateKey(using: random)
        let route = try Route(serviceURI: WireVectors.serviceURI, serviceKey: service.publicKey, address: AddressID(random: random))
        return Invite(identity: identity, prekey: prekey.publicKey, route: route, expires: testNow.addingTimeInterval(86400), attestation: attestation)
    }

    @Test func attestedVectorIsReproducible() throws {
        let invite = try Self.vector()
        let plain = Hex.bytes(TestVectorTests.invite)
        let bytes = invite.encoded()
        // Version 2; the plain invite's body up to its signature; the attestation; a new signature.
        #expect(Array(bytes.prefix(2)) == [0x01, 0x02])
        #expect(Array(bytes[2..<(plain.count - 64)]) == Array(plain[2..<(plain.count - 64)]))
        let bodyEnd = plain.count - 64
        let attestationField: [UInt8] = Array(bytes[bodyEnd..<(bodyEnd + 18)])
        let expectedField: [UInt8] = [0x00, 0x10] + Self.attestation
        #expect(attestationField == expectedField)
        #expect(Hex.string(Array(bytes.suffix(64))) == Self.vectorSignature)
        #expect(bytes.count == plain.count + 18)
        #expect(invite.qrText == Self.vectorQRText)
    }

    @Test func attestedInviteRoundTripsThroughItsQRText() throws {
        let invite = try Self.vector()
        let decoded = try Invite(qrText: invite.qrText)
        #expect(decoded == invite)
        #expect(decoded.attestation == Self.attestation)
    }

    @Test func anInviteWithoutAttestationIsVersionOneAsBefore() throws {
        let plain = try WireVectors.invite().invite
        #expect(plain.attestation == nil)
        #expect(Hex.string(plain.encoded()) == Hex.normalized(TestVectorTests.invite))
    }

    @Test func theSignatureCoversTheAttestation() throws {
        let bytes = try Self.vector().encoded()
        let start = bytes.count - 64 - Self.attestation.count
        for index in start..<(bytes.count - 64) {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect(throws: WireError.invalidValue(field: "signature", reason: "does not verify: the invite was altered or forged")) {
                try Invite(decoding: tampered)
            }
        }
        // Stripping the attestation (back to version 1) breaks the signature too.
        var stripped = Array(bytes[..<start].dropLast(2)) + Array(bytes.suffix(64))
        stripped[1] = 0x01
        #expect(throws: WireError.invalidValue(field: "signature", reason: "does not verify: the invite was altered or forged")) {
            try Invite(decoding: stripped)
        }
    }

    @Test func anAttestationOverItsLimitIsRefused() throws {
        let invite = try Self.vector()
        var bytes = invite.encoded()
        let lengthOffset = bytes.count - 64 - Self.attestation.count - 2
        bytes[lengthOffset] = 0x10
        bytes[lengthOffset + 1] = 0x01
        #expect(throws: WireError.oversized(field: "attestation", limit: Invite.maximumAttestationByteCount, actual: 4097)) {
            try Invite(decoding: bytes)
        }
        let over = [0x01, 0x02] + [UInt8](repeating: 0, count: Invite.maximumAttestedByteCount - 1)
        #expect(throws: WireError.oversized(field: "invite", limit: Invite.maximumAttestedByteCount, actual: Invite.maximumAttestedByteCount + 1)) {
            try Invite(decoding: over)
        }
    }
}
