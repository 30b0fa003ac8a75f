import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// The byte-exact vectors printed in docs/wire-format.md. Each test rebuilds the object from the
/// same DeterministicRandom seeds (WireVectors) and compares the encoding with the constant,
/// then decodes the constant and checks what comes out.
struct TestVectorTests {
    static let invite = """
        01014b12bf90f24b09cb7abce08d0a33a04ebfdb2a247c278aabc4392366c411f9de1a060af3f2f76f4ac3abdaf570ed
        066632e0613dc3c3aad63d580f41776722426b4b23801968747470733a2f2f72732e6578616d706c652e6f72672f7631
        1fe9b8245ff303e85a2cd51f2d7ef1e814561f3ad81f0813e845003345a93a2b62e3efb1549c5c24a0a3df2f698df2c7
        58e6aa8e421493e332f9f7ecbfb3277144d394df081ecbcad8afe0a4ca7df72e3d0a0baf38f3315d2e7f6ba0d1098ba2
        49b5433a1354503b3067f988c683f50d
        """
    static let inviteQRText =
        "W503M9Z9OHSUWA1ANFKHS1D1/BKKBOXE5DVF*NHD OHL4IZOLQV2D3DH19WU53E6XOSURJCEI 0JJ68DCUXO*QL:X7Z-1C4F+E4HPD/L4O93MWEW9E0G7-:5BPEB$CBECP9ERZC04E02DH.EO14PCN%5CAM0:HBJ.Q X58QUVP2T.3MER.01GGT610D 8-F7PMCQDUFVA8TB%DKU9SLFD6VUXABCPL-F8EVI:J6IFVPAOH:4OV8- I811FYPVHR/HS.QP8BVBW7LL1:87$A6N*5CRD8JQGTHEE9KM8/J2J6AG56POVE4P3:U"
    static let keyPackage = """
        0201132320c1d85c7c46190244f130cbd19f6e2351562ffd4dac58b45fd390f90e21528064fefd0a6d5705adca2920bc
        b34bd36c737444a3ece741bd22e12c365f6c6b715f00011968747470733a2f2f72732e6578616d706c652e6f72672f76
        3125315e7f8a27304b985db56bb0c12a1e8e0e808c2c84828eaf68632d8a9ad750d82265e593acfb522c69ac125112e1
        85b8d1a7a89cbf1f999119a8ac695cbfa18d2aef62ed62e141eb843268c1b3cf1260a7f13f23487edb73615db3f542a7
        09ed3f124f18059855a9f2113afdd7a10c025ed710a0539078979a8accaac302a353a7485f500795740dd5ee9dc9d420
        d518cfcbb3fe0528f63701887642f0e16c3fc9caa1837af8ba6931e0b7609bf9117a
        """
    static let envelope = """
        050100621e8e21ae2b8f30531cdd4ee41c975ce132245d1522f547e94d222ff3e4d738279a7eb41ee1d8ea899ead92d9
        fab4b597c93947b74cd6efdab928afb618be4b312872ed89666b724bfcdd67837b10e8db7bc39d46c994fb5cbb125d1c
        0bb39c09146a00000010000102030405060708090a0b0c0d0e0f
        """
    static let payload = """
        04020000000000000001000000000000000500010100000000000000021968747470733a2f2f72732e6578616d706c65
        2e6f72672f7631361290c1cf8112f8a5f773c67b50c9454da2729fc3d2d31d66a86973e5c8b87d50ab48e984621b10a0
        8bc65e1f0c51360000000568656c6c6f
        """
    static let gossipPayload = """
        040200000000000000020000000000000006000104000000000000000300bd6469726563746f72792e6578616d706c65
        2e6f72670a380a58636e616561634757616d74565a79334164375a6f717564676a71744c306c677a2b4e77372f526751
        79673d0a0ae28094206469726563746f72792e6578616d706c652e6f7267205175793146346f496d52624b79326a574f
        6f61362b425a46695151724e474934754c41764e71613052486d756b756b493730696a7a4e6a7a444d6a4d2b38734d75
        384570526c756e2f425833333632583669786e6e6f4a6947776b3d0a0000000568656c6c6f
        """
    static let ratchetMessage = """
        0302ad0e1201027a230dce9748face32ec9b84b4addab2c32e946ab2989d43560c05c5d169cc31db23f642f74d31ac72
        9a030585189f474a98f9fb6e59462116aa21308fd34f9c81ec42a057e264ff91d0ef1d0ac77707a2658ba45586b8a5bd
        ec51d8c401843991f69400000110cf3cecd367e2327667dce49e877ae9f73eff8eec1a826527979ecb0305d9140bff71
        a10794a95f8b58769866082f17cfc485da7e1c1394fefd3c90b0d610b8802ba46cd7fb992e4ac9bfbb099be853869d89
        6c0d0cb1f882d6d19da7c1bb8bb5e2c24d5f26d34f5dccf4d3a5e7021df7a617aaedb06b128ab30a452f2a98b05a550d
        bff30c7aca8648c681f3f8bfeb955e0a60490364e534082c47995f4d15c419f7b4defca034737ab9140a9f9f23edce95
        248478cbacc13b5a27e3763e14fffd27cfd3317b32ccbfdd03bb9288d6c5bf9440bccdc10726997272566aad84ceebb1
        43c85a1d48d13c82e90828ad4d7e84d1de440a0d72233e6801c0e186cc35651cbafe3bb61e7a43ff6bc991b26372
        """

    /// Intermediate values of the ratchet vector (Signal Double Ratchet, section 4 names).
    static let ratchetSteps: [String: String] = [
        "RK0": "738c0823b6cf80bb0013d5cede4350f23e2a9e0b1722912c241155bfa4265f95",
        "shared_hka": "95d64beae6dec526e4dda966ca048b25b4aeafd5dc67f307c0e77a8d069c3ecb",
        "shared_nhkb": "8498e73183b3a85cac79d971f2e8c814560eea546083b5fd24367e2f93e3241f",
        "DHr": "b84df97d9bfcfd2cd15221897fdc993b58e7d7dc0e1011ea890d4152968b7d01",
        "DHs": "5a76284bedb4360320506553b50fdeb0e11597dca39926f5e0b6cf215f79530c",
        "RK1": "868600191505b20e2cf716b3f0952cbf367ffb07822cbbb851c48e774f776818",
        "CKs": "f60333ac7958f670da3612b07cce2b3b62812a233acaae82ed9286429f0e78da",
        "NHKs": "f46c599a07bf95d983194ee77475fe33380575f95f7d734dd1a6c99a9d107527",
        "MK0": "21198c74e460f530013c86a94cac10d03b3f81dcd5cc4c8b081d49e0d963b8df",
        "CKs1": "39e1b4cfcbeaaf4eeada54f1298ebeaad0bb4364fa69d1d96624669753a17325",
        "header": "5a76284bedb4360320506553b50fdeb0e11597dca39926f5e0b6cf215f79530c0000000000000000",
        "body nonce": "1d0ac77707a2658ba45586b8a5bdec51d8c401843991f694",
    ]

    // MARK: - Invite (0x01)

    @Test func inviteVectorIsReproducible() throws {
        let vector = try WireVectors.invite()
        #expect(Hex.string(vector.invite.encoded()) == Hex.normalized(Self.invite))
        #expect(vector.invite.qrText == Self.inviteQRText)
    }

    @Test func inviteVectorDecodes() throws {
        let vector = try WireVectors.invite()
        let bytes = Hex.bytes(Self.invite)
        #expect(bytes.count == 208)
        let decoded = try Invite(decoding: bytes)
        #expect(decoded == vector.invite)
        #expect(decoded.identityKey == vector.identity.publicKey)
        #expect(decoded.prekey == vector.prekey.publicKey)
        #expect(decoded.expires == Date(timeIntervalSince1970: 1_800_086_400))
        #expect(decoded.route.serviceURI == "https://rs.example.org/v1")
        #expect(decoded.route.serviceKey == vector.service.publicKey)
        #expect(decoded.identityKey.isValidSignature(decoded.signature, for: Array(bytes.dropLast(64))))
        #expect(try Invite(qrText: Self.inviteQRText) == decoded)
    }

    // MARK: - Key package (0x02)

    @Test func keyPackageVectorIsReproducible() throws {
        let vector = try WireVectors.keyPackage()
        #expect(Hex.string(vector.keyPackage.encoded()) == Hex.normalized(Self.keyPackage))
    }

    @Test func keyPackageVectorDecodes() throws {
        let vector = try WireVectors.keyPackage()
        let bytes = Hex.bytes(Self.keyPackage)
        #expect(bytes.count == 274)
        let decoded = try KeyPackage(decoding: bytes)
        #expect(decoded == vector.keyPackage)
        #expect(decoded.identityKey == vector.identity.publicKey)
        #expect(decoded.signedPrekey == vector.signedPrekey.publicKey)
        #expect(decoded.oneTimePrekeys.map(\.prekey) == vector.oneTimePrekeys.map(\.publicKey))
        #expect(decoded.expires == Date(timeIntervalSince1970: 1_802_592_000))
        #expect(decoded.route?.serviceKey == vector.service.publicKey)
        // The signature covers everything before it: the one-time prekeys are outside it.
        let signedLength = bytes.count - 1 - 2 * 32 - 64
        #expect(decoded.identityKey.isValidSignature(decoded.signature, for: Array(bytes.prefix(signedLength))))
    }

    // MARK: - Envelope (0x05) with a sealed address (0x06)

    @Test func envelopeVectorIsReproducible() throws {
        let vector = try WireVectors.envelope()
        #expect(Hex.string(vector.envelope.encoded()) == Hex.normalized(Self.envelope))
    }

    @Test func envelopeVectorDecodesAndOpensWithTheServiceKey() throws {
        let vector = try WireVectors.envelope()
        let bytes = Hex.bytes(Self.envelope)
        #expect(bytes.count == 122)
        let decoded = try Envelope(decoding: bytes)
        #expect(decoded == vector.envelope)
        #expect(decoded.ciphertext == WireVectors.envelopeCiphertext)
        #expect(try decoded.openAddress(with: vector.service) == vector.route.address)
        #expect(
            try SealedBox.open(decoded.sealedAddress, with: vector.service)
                == [0x06, 0x02] + vector.route.address.bytes + SHA256.hash(WireVectors.envelopeCiphertext))
    }

    // MARK: - Proton payload (0x04)

    @Test func payloadVectorIsReproducible() throws {
        #expect(Hex.string(try WireVectors.payload().encoded()) == Hex.normalized(Self.payload))
    }

    @Test func payloadVectorDecodes() throws {
        let bytes = Hex.bytes(Self.payload)
        #expect(bytes.count == 112)
        let decoded = try ProtonPayload(decoding: bytes)
        #expect(decoded == (try WireVectors.payload()))
        #expect(decoded.acknowledged == 1)
        #expect(decoded.sequence == 5)
        #expect(decoded.notices == [])
        #expect(decoded.body == Array("hello".utf8))
        guard case .addRoute(let route) = try #require(decoded.updates.first).change else {
            Issue.record("expected an addRoute update")
            return
        }
        #expect(decoded.updates.map(\.sequence) == [2])
        #expect(route.serviceURI == "https://rs.example.org/v1")
    }

    @Test func gossipPayloadVectorIsReproducibleAndDecodes() throws {
        let payload = WireVectors.gossipPayload()
        #expect(Hex.string(payload.encoded()) == Hex.normalized(Self.gossipPayload))
        let bytes = Hex.bytes(Self.gossipPayload)
        #expect(bytes.count == 229)
        let decoded = try ProtonPayload(decoding: bytes)
        #expect(decoded == payload)
        #expect(decoded.updates.map(\.change) == [.checkpoint(WireVectors.gossipedCheckpoint)])
        #expect(WireVectors.gossipedCheckpoint.count == 189)
    }

    // MARK: - Hybrid key package and initial message (version 2)

    @Test func hybridKeyPackageVectorIsReproducible() throws {
        let vector = try WireVectors.hybridKeyPackage()
        let bytes = vector.keyPackage.encoded()
        #expect(bytes.count == 2_674)
        #expect(Hex.string(SHA256.hash(bytes)) == "c77c3a217bd1b582f4c2335564cfcda758a51110dcfdd8b2eb1011dc87eb1221")
        #expect(
            Hex.string(vector.kemPrekey.seed.unsafeExportedBytes())
                == "5b76f30a3e9bc54b7e6f1696c2b08f668d0880b1a284c62716bcc139278939930b2177a43f0e6596dfdd259d5f609f700189e49c78fe521c2803a13d376da38b")
        #expect(Hex.string(SHA256.hash(vector.kemPrekey.publicKey.rawRepresentation)) == "7f6097a20c107ce1a8342ef5df123129bcdb81b8dfe8f82f06ca2ada8a7c8e37")
        #expect(
            Hex.string(SHA256.hash(vector.oneTimeKEMPrekey.publicKey.rawRepresentation))
                == "4075d31d6282d5785a745d68b23bf2d621cd2e65a9712bc4bdb08429b73740d5")
        #expect(
            Hex.string(vector.keyPackage.signature)
                == "ac8a653c6daa4cd1c6683e7095382f164c2f08e3d9b2313a8785d3e0a493159eb0c6c5d6ef7f35675e262da4da75aaa179fa6731bab091f958c3edb216a23504")
        #expect(
            Hex.string(try #require(vector.keyPackage.oneTimePrekeys.first?.kem).signature)
                == "1f2ed4402b942c8328225e8a9ec5f7e362500b3412eff4df1216c67125fca2a28719275f5c9ce2a1779b2da43e37fe410dd99a3b32ab2ee0a280d46d60655807")
        #expect(try KeyPackage(decoding: bytes) == vector.keyPackage)
    }

    @Test func hybridInitialMessageVectorIsReproducibleAndOpens() throws {
        let package = try WireVectors.hybridKeyPackage()
        #expect(
            try package.oneTimeKEMPrekey.decapsulate(WireVectors.hybridCiphertext).isEqual(to: SecureBytes(WireVectors.hybridSharedSecret)),
            "the recorded ciphertext carries the recorded secret")
        let (alex, initial, _) = try WireVectors.hybridInitialMessage()
        let bytes = initial.encoded()
        #expect(bytes.count == 5_489)
        #expect(Hex.string(SHA256.hash(bytes)) == "31356135326f3acf5b3795d5d6920081afc28c9e80c6346465576f3029ad4755")
        #expect(Hex.string(initial.kem?.keyID ?? []) == "4075d31d6282d5785a745d68b23bf2d621cd2e65a9712bc4bdb08429b73740d5")
        #expect(initial.kem?.ciphertext == WireVectors.hybridCiphertext)
        let identity = try initial.initiatorIdentity(
            using: package.signedPrekey, kemSecret: SecureBytes(WireVectors.hybridSharedSecret))
        #expect(identity == alex.publicIdentity)
        #expect(throws: RatchetError.authenticationFailure) { try initial.initiatorIdentity(using: package.signedPrekey) }
    }

    // MARK: - Ratchet message (0x03)

    @Test func ratchetVectorIsReproducible() throws {
        let vector = try WireVectors.ratchetMessage()
        #expect(Hex.string(vector.message) == Hex.normalized(Self.ratchetMessage))
        #expect(vector.message.count == DoubleRatchet.ciphertextByteCount(bucket: 256, hybrid: false))
    }

    @Test func ratchetVectorIntermediateValues() throws {
        let vector = try WireVectors.ratchetMessage()
        let start = vector.initiatorAtStart
        let chain = try #require(start.sendingChain)
        let step = chain.advance()
        let computed: [String: [UInt8]] = [
            "RK0": vector.seed.rootKey.secret.unsafeExportedBytes(),
            "shared_hka": vector.seed.initiatorHeaderKey.secret.unsafeExportedBytes(),
            "shared_nhkb": vector.seed.responderNextHeaderKey.secret.unsafeExportedBytes(),
            "DHr": vector.responderKey.publicKey.rawRepresentation,
            "DHs": start.sendingRatchetKey.publicKey.rawRepresentation,
            "RK1": start.rootKey.secret.unsafeExportedBytes(),
            "CKs": chain.secret.unsafeExportedBytes(),
            "NHKs": start.nextSendingHeaderKey.secret.unsafeExportedBytes(),
            "MK0": step.message.secret.unsafeExportedBytes(),
            "CKs1": step.chain.secret.unsafeExportedBytes(),
            "header": RatchetHeader(ratchetKey: start.sendingRatchetKey.publicKey, previousChainLength: 0, messageNumber: 0)
                .encoded(),
            "body nonce": Array(vector.message[82..<106]),
        ]
        #expect(Set(computed.keys) == Set(Self.ratchetSteps.keys))
        for (name, bytes) in computed {
            #expect(Hex.string(bytes) == Self.ratchetSteps[name], "\(name)")
        }
        // The body is XChaCha20-Poly1305 under MK itself with the random nonce the message carries.
        let message = Hex.bytes(Self.ratchetMessage)
        let body = try XChaCha20Poly1305.open(
            Array(message[110...]), using: XChaCha20Poly1305.Key(SecureBytes(Hex.bytes(Self.ratchetSteps["MK0"]!))),
            nonce: Array(message[82..<106]), authenticating: [0x03, 0x02] + vector.associatedData + Array(message[2..<82]))
        #expect(Array(body.prefix(6)) == Array("hello".utf8) + [0x80])
        // The sealed header opens with shared_hka to exactly that header.
        let bytes = Hex.bytes(Self.ratchetMessage)
        let header = vector.seed.initiatorHeaderKey.open(Array(bytes[2..<82]))
        #expect(header.map { Hex.string($0.encoded()) } == Self.ratchetSteps["header"])
    }

    @Test func ratchetVectorDecryptsAtTheResponder() throws {
        let vector = try WireVectors.ratchetMessage()
        var responder = DoubleRatchet(responding: vector.seed, ourRatchetKey: vector.responderKey)
        let plaintext = try responder.decrypt(
            Hex.bytes(Self.ratchetMessage), associatedData: vector.associatedData, now: testNow, random: SystemRandom())
        #expect(plaintext == Array("hello".utf8))
        #expect(responder.canSend)
    }

    // MARK: - Hybrid ratchet message (0x03, version 3)

    /// The same start with the initiator's first chain offering its ML-KEM key (call 2 of its
    /// stream, the 64-byte seed d ‖ z), and the hybrid KDF_RK_HE step with a fixed SS.
    static let hybridRatchetSteps: [String: String] = [
        "KEM seed": "ad0e1201027a230dce9748face32ec9b84b4addab2c32e94ec1603ab3715b9729810b798daebc5cf421fdcfdae66fd5edc901a4a40b9fa59d51450b3ec3bcaf6",
        "KEM key hash": "acfb796503273bccb34b81a53bb91bb46ecd6bea6b36c5e3c72771cb32d4cf08",
        "message hash": "b227f556980a4d7c545f345c22916fcaeb036900ffe90ffc9dbb94eaa15db539",
        "hybrid RK": "1bf6d4eb5935419fc12903675ff0d04043e6da42d85f0576884d0c642d560d66",
        "hybrid CK": "4f18e72b201a61a9de023f22df98fcc51b4f0c4902b2133d64cc386c658dbdb0",
        "hybrid NHK": "a3173c5ba9b512a7e8b0fcc58352ff20e97e28453d3836cf4714af9280e0db71",
    ]

    @Test func hybridRatchetVectorIsReproducibleAndOpens() throws {
        let vector = try WireVectors.ratchetMessage(hybrid: true)
        let offered = try #require(vector.initiatorAtStart.kemKey)
        #expect(vector.message.count == 1_402 && vector.message[1] == 3, "bucket 1,280: 122 + 1,280 bytes")
        // Section 4's KDF_RK_HE with SS: RK₁ as salt, IKM = DH(initiator DHs, responder DHs) ‖ SS.
        let dh = try vector.initiatorAtStart.sendingRatchetKey.sharedSecret(with: vector.responderKey.publicKey)
        let step = vector.initiatorAtStart.rootKey.advance(with: dh, kemSecret: SecureBytes(Array(repeating: 0x33, count: 32)))
        let computed: [String: [UInt8]] = [
            "KEM seed": offered.seed.unsafeExportedBytes(),
            "KEM key hash": SHA256.hash(offered.publicKey.rawRepresentation),
            "message hash": SHA256.hash(vector.message),
            "hybrid RK": step.root.secret.unsafeExportedBytes(),
            "hybrid CK": step.chain.secret.unsafeExportedBytes(),
            "hybrid NHK": step.nextHeader.secret.unsafeExportedBytes(),
        ]
        for (name, bytes) in computed {
            #expect(Hex.string(bytes) == Self.hybridRatchetSteps[name], "\(name)")
        }
        // The header opens with shared_hka (the hybrid associated data) to DHs ‖ PN ‖ N ‖ the key.
        let header = try #require(vector.seed.initiatorHeaderKey.open(Array(vector.message[2..<(2 + 80 + 1_184)])))
        #expect(header.kem == KEMFields(key: offered.publicKey.rawRepresentation, ciphertext: nil))
        var responder = DoubleRatchet(responding: vector.seed, ourRatchetKey: vector.responderKey)
        #expect(try responder.decrypt(vector.message, associatedData: vector.associatedData, now: testNow, random: SystemRandom()) == vector.plaintext)
        #expect(responder.sendingKEMCiphertext != nil, "the responder answers the offer")
    }

    // MARK: - The document

    /// docs/wire-format.md prints these same vectors; a change to one without the other fails here.
    @Test func wireFormatDocumentPrintsTheseVectors() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/wire-format.md")
        let document = try String(contentsOf: url, encoding: .utf8)
        let compact = String(document.filter { !$0.isWhitespace }).lowercased()
        for (name, vector) in [
            ("invite", Self.invite), ("key package", Self.keyPackage), ("envelope", Self.envelope),
            ("payload", Self.payload), ("gossip payload", Self.gossipPayload), ("ratchet message", Self.ratchetMessage),
            ("hybrid ciphertext", Hex.string(WireVectors.hybridCiphertext)),
            ("hybrid key package hash", "c77c3a217bd1b582f4c2335564cfcda758a51110dcfdd8b2eb1011dc87eb1221"),
            ("hybrid initial message hash", "31356135326f3acf5b3795d5d6920081afc28c9e80c6346465576f3029ad4755"),
        ] {
            let printed = compact.contains(Hex.normalized(vector))
            #expect(printed, "docs/wire-format.md does not print the \(name) vector")
        }
        for (name, value) in Self.ratchetSteps.merging(Self.hybridRatchetSteps, uniquingKeysWith: { $1 }) {
            let printed = compact.contains(value)
            #expect(printed, "docs/wire-format.md does not print the ratchet vector's \(name)")
        }
        let printsQRText = document.contains(Self.inviteQRText)
        #expect(printsQRText, "docs/wire-format.md does not print the invite's QR text")
    }
}
