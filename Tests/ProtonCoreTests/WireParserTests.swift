import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// One top-level wire format and its parser, for the table-driven refusal tests.
struct ParserCase: Sendable, CustomTestStringConvertible {
    /// A length or count field and a value over its limit.
    struct LengthField: Sendable {
        let offset: Int
        let width: Int
        let value: UInt64
        let expected: WireError
    }

    let name: String
    let format: WireFormat
    let valid: [UInt8]
    let maximumSize: Int
    let lengthFields: [LengthField]
    /// nil when the parser accepts the bytes, else the WireError it refused them with.
    let parse: @Sendable ([UInt8]) -> WireError?

    var testDescription: String { name }

    static func wire(_ body: () throws(WireError) -> Void) -> WireError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    static let all: [ParserCase] = {
        // The fixtures are deterministic; building them cannot fail.
        let invite = try! WireVectors.invite().invite
        let keyPackage = try! WireVectors.keyPackage()
        let payload = try! WireVectors.payload()
        let ratchet = try! WireVectors.ratchetMessage()
        let associatedData = ratchet.associatedData

        // An initial message with a one-time prekey (flags = 1).
        let random = DeterministicRandom(seed: "parser cases")
        let persona = try! Persona(displayName: "Alice", random: random)
        let initial = try! Proton.initiate(
            persona: persona, keyPackage: keyPackage.keyPackage, ourRoutes: [], now: testNow, random: random
        ).initialMessage.encoded()
        let envelope = try! Envelope(sealing: initial, to: keyPackage.keyPackage.route!, random: random).encoded()
        let payloadBytes = payload.encoded()
        let keyPackageBytes = keyPackage.keyPackage.encoded()
        let ratchetBytes = ratchet.message

        return [
            ParserCase(
                name: "invite", format: .invite, valid: invite.encoded(), maximumSize: Invite.maximumByteCount,
                lengthFields: [
                    .init(offset: 70, width: 1, value: 201, expected: .oversized(field: "service URI", limit: 200, actual: 201))
                ],
                parse: { bytes in wire { () throws(WireError) in _ = try Invite(decoding: bytes) } }),
            ParserCase(
                name: "key package", format: .keyPackage, valid: keyPackageBytes, maximumSize: KeyPackage.maximumByteCount,
                lengthFields: [
                    .init(offset: 71, width: 1, value: 255, expected: .oversized(field: "service URI", limit: 200, actual: 255)),
                    .init(
                        offset: keyPackageBytes.count - 1 - 64, width: 1, value: 101,
                        expected: .oversized(field: "one-time prekeys", limit: 100, actual: 101)),
                ],
                parse: { bytes in wire { () throws(WireError) in _ = try KeyPackage(decoding: bytes) } }),
            ParserCase(
                name: "initial message", format: .initialMessage, valid: initial,
                maximumSize: InitialMessage.maximumByteCount,
                lengthFields: [
                    .init(
                        offset: 2 + 1 + 32 * 3 + 48, width: 4, value: 0xffff_ffff,
                        expected: .oversized(
                            field: "ratchet message", limit: DoubleRatchet.maximumMessageByteCount, actual: 0xffff_ffff)),
                    .init(
                        offset: 2 + 1 + 32 * 3 + 48, width: 4, value: UInt64(DoubleRatchet.maximumMessageByteCount + 1),
                        expected: .oversized(
                            field: "ratchet message", limit: DoubleRatchet.maximumMessageByteCount,
                            actual: DoubleRatchet.maximumMessageByteCount + 1)),
                ],
                parse: { bytes in wire { () throws(WireError) in _ = try InitialMessage(decoding: bytes) } }),
            ParserCase(
                name: "envelope", format: .envelope, valid: envelope, maximumSize: Envelope.maximumByteCount,
                lengthFields: [
                    .init(offset: 2, width: 2, value: 0xffff, expected: .oversized(field: "sealed address", limit: 98, actual: 0xffff)),
                    .init(offset: 2, width: 2, value: 99, expected: .oversized(field: "sealed address", limit: 98, actual: 99)),
                    .init(
                        offset: 4 + 98, width: 4, value: 0xffff_ffff,
                        expected: .oversized(field: "ciphertext", limit: InitialMessage.maximumByteCount, actual: 0xffff_ffff)),
                ],
                parse: { bytes in wire { () throws(WireError) in _ = try Envelope(decoding: bytes) } }),
            ParserCase(
                name: "ratchet message", format: .ratchetMessage, valid: ratchetBytes,
                maximumSize: DoubleRatchet.maximumMessageByteCount,
                lengthFields: [
                    .init(
                        offset: 106, width: 4, value: 0xffff_ffff,
                        expected: .oversized(field: "body", limit: 65536 + 16, actual: 0xffff_ffff)),
                    .init(offset: 106, width: 4, value: 65553, expected: .oversized(field: "body", limit: 65552, actual: 65553)),
                ],
                parse: { bytes in
                    // A fresh responder each time, so the valid message really opens.
                    var copy = DoubleRatchet(responding: ratchet.seed, ourRatchetKey: ratchet.responderKey)
                    do throws(RatchetError) {
                        _ = try copy.decrypt(bytes, associatedData: associatedData, now: testNow, random: SystemRandom())
                        return nil
                    } catch {
                        guard case .malformed(let wireError) = error else {
                            return .invalidValue(field: "not a parse error", reason: "\(error)")
                        }
                        return wireError
                    }
                }),
            ParserCase(
                name: "proton payload", format: .protonPayload, valid: payloadBytes,
                maximumSize: ProtonPayload.maximumReadByteCount,
                lengthFields: [
                    .init(offset: 19, width: 1, value: 33, expected: .oversized(field: "updates", limit: 32, actual: 33)),
                    .init(offset: 29, width: 1, value: 201, expected: .oversized(field: "service URI", limit: 200, actual: 201)),
                    .init(
                        offset: payloadBytes.count - 5 - 4, width: 4, value: 0xffff_ffff,
                        expected: .oversized(field: "body", limit: 65535, actual: 0xffff_ffff)),
                ],
                parse: { bytes in wire { () throws(WireError) in _ = try ProtonPayload(decoding: bytes) } }),
        ]
    }()
}

struct WireParserTests {
    @Test(arguments: ParserCase.all)
    func acceptsTheValidEncoding(_ format: ParserCase) {
        #expect(format.parse(format.valid) == nil)
        #expect(format.valid[0] == format.format.rawValue)
        #expect(format.valid[1] == Self.currentVersion(of: format.format))
    }

    /// Each format's version as written today: the ratchet message and the payload are at 2.
    static func currentVersion(of format: WireFormat) -> UInt8 {
        switch format {
        case .ratchetMessage: DoubleRatchet.messageVersion
        case .protonPayload: ProtonPayload.version
        default: WireFormat.currentVersion
        }
    }

    @Test(arguments: ParserCase.all)
    func refusesEveryTruncation(_ format: ParserCase) {
        #expect(format.parse([]) == .truncated(field: "format tag"))
        #expect(format.parse(Array(format.valid.prefix(1))) == .truncated(field: "version"))
        for length in 0..<format.valid.count {
            let error = format.parse(Array(format.valid.prefix(length)))
            guard case .truncated = error else {
                Issue.record("\(format.name) cut to \(length) of \(format.valid.count) bytes: \(String(describing: error))")
                continue
            }
        }
    }

    @Test(arguments: ParserCase.all)
    func refusesOneTrailingByte(_ format: ParserCase) {
        #expect(format.parse(format.valid + [0]) == .trailingBytes(count: 1))
        #expect(format.parse(format.valid + [0xff, 0xff, 0xff]) == .trailingBytes(count: 3))
    }

    @Test(arguments: ParserCase.all)
    func refusesAnUnknownVersion(_ format: ParserCase) {
        // Invites have a version 2 (an invite that carries an attestation), key packages and
        // initial messages one too (hybrid, HybridStartTests); ratchet messages a version 3 (a
        // hybrid chain's, HybridRatchetTests).
        let second: Set<WireFormat> = [.invite, .keyPackage, .initialMessage]
        for version: UInt8 in [0, 1, 2, 3, 0xff]
        where version != Self.currentVersion(of: format.format) && !(second.contains(format.format) && version == 2)
            && !(format.format == .ratchetMessage && version == DoubleRatchet.hybridMessageVersion)
        {
            var bytes = format.valid
            bytes[1] = version
            #expect(format.parse(bytes) == .unknownVersion(format: format.format, version: version))
        }
    }

    @Test(arguments: ParserCase.all)
    func refusesAWrongFormatTag(_ format: ParserCase) {
        for tag: UInt8 in [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x7f, 0xff] where tag != format.format.rawValue {
            var bytes = format.valid
            bytes[0] = tag
            #expect(format.parse(bytes) == .unexpectedFormat(expected: format.format, actual: tag))
        }
    }

    @Test(arguments: ParserCase.all)
    func refusesAnOversizedLengthField(_ format: ParserCase) {
        #expect(!format.lengthFields.isEmpty)
        for field in format.lengthFields {
            let bytes = format.valid.replacing(bigEndian: field.value, at: field.offset, count: field.width)
            #expect(format.parse(bytes) == field.expected, "offset \(field.offset)")
        }
    }

    @Test(arguments: ParserCase.all)
    func refusesInputOverItsSizeLimit(_ format: ParserCase) {
        let over = format.valid + [UInt8](repeating: 0, count: format.maximumSize + 1 - format.valid.count)
        #expect(format.parse(over) == .oversized(field: "\(format.format)", limit: format.maximumSize, actual: format.maximumSize + 1))
    }

    // MARK: - Limits that follow from the layouts

    @Test func sizeLimitsMatchTheLayouts() {
        #expect(Invite.maximumByteCount == 383)
        #expect(KeyPackage.maximumByteCount == 129_569)
        #expect(DoubleRatchet.maximumMessageByteCount == 65662)
        #expect(InitialMessage.maximumByteCount == 65662 + 151)
        #expect(Envelope.sealedAddressByteCount == 98)
        #expect(Envelope.maximumByteCount == 65813 + 106)
        #expect(DoubleRatchet.maximumPlaintextByteCount == 65535 - 1_184 - 1_088)
        #expect(ProtonPayload.maximumUpdates == 32)
    }

    // MARK: - Nested structures

    @Test func refusesAPayloadWithAnUnknownUpdateType() throws {
        var bytes = try WireVectors.payload().encoded()
        bytes[20] = 9
        #expect(throws: WireError.invalidValue(field: "update type", reason: "unknown type 9")) {
            try ProtonPayload(decoding: bytes)
        }
    }

    @Test func refusesAnUpdateWithSequenceZero() throws {
        let bytes = try WireVectors.payload().encoded().replacing(bigEndian: 0, at: 21, count: 8)
        #expect(throws: WireError.invalidValue(field: "update sequence", reason: "must start at 1")) {
            try ProtonPayload(decoding: bytes)
        }
    }

    @Test func refusesAPayloadWithSequenceZeroOrAnUnknownNotice() throws {
        let vector = try WireVectors.payload().encoded()
        #expect(throws: WireError.invalidValue(field: "sequence", reason: "must start at 1")) {
            try ProtonPayload(decoding: vector.replacing(bigEndian: 0, at: 10, count: 8))
        }
        for notices: UInt8 in [2, 0x80, 0xff] {
            #expect(throws: WireError.invalidValue(field: "notices", reason: "unknown notice")) {
                try ProtonPayload(decoding: vector.replacing(bigEndian: UInt64(notices), at: 18, count: 1))
            }
        }
        var noticed = try WireVectors.payload()
        noticed.notices = .staleSenderState
        #expect(try ProtonPayload(decoding: noticed.encoded()) == noticed)
    }

    @Test func roundTripsEveryUpdateKind() throws {
        let route = try WireVectors.payload().updates[0]
        let payload = ProtonPayload(
            acknowledged: 7, sequence: 3,
            updates: [
                route,
                ProtonUpdate(sequence: 3, change: .retireAddress(try AddressID(bytes: Array(0..<16)))),
                ProtonUpdate(sequence: 4, change: .displayName("Zoë")),
            ],
            body: Array(repeating: 0xab, count: 300))
        #expect(try ProtonPayload(decoding: payload.encoded()) == payload)
    }

    @Test func refusesADisplayNameWithControlCharacters() throws {
        let payload = ProtonPayload(
            acknowledged: 0, sequence: 1, updates: [ProtonUpdate(sequence: 1, change: .displayName("bell\u{07}"))], body: [])
        #expect(throws: WireError.invalidValue(field: "display name", reason: "contains control characters")) {
            try ProtonPayload(decoding: payload.encoded())
        }
    }

    /// A name that would show as something else (a right-to-left override, an isolate) or as
    /// nothing (only zero-width characters, spaces or marks) is refused at `persona add` and
    /// taken out of a name that arrives on the wire; scripts that need joiners and emoji
    /// sequences are names.
    @Test func refusesDisplayNamesThatDoNotReadAsWhatTheyAre() throws {
        for name in ["Bob\u{202E}gnp.exe", "\u{2067}Eve\u{2069}", "\u{200F}", "\u{200B}\u{200D}", " \u{3000} ", "\u{0301}", "a\u{2029}b"] {
            let payload = ProtonPayload(
                acknowledged: 0, sequence: 1, updates: [ProtonUpdate(sequence: 1, change: .displayName(name))], body: [])
            // On the wire, from a peer whose name predates the rules: taken out, not refused.
            let decoded = try ProtonPayload(decoding: payload.encoded())
            #expect(decoded.updates.first?.change == .displayName(Persona.neutralised(name)), "\(name.debugDescription)")
            #expect(throws: WireError.self) { try Persona(displayName: name, random: SystemRandom()) }
        }
        for name in ["שלום", "علی\u{200C}رضا", "👩\u{200D}👩\u{200D}👧", "Zoë", "李小龙", "Ana María"] {
            #expect(throws: Never.self) { try Persona(displayName: name, random: SystemRandom()) }
        }
        // A name stored under the earlier rules loads without what they now refuse.
        #expect(Persona.neutralised("Bob\u{202E}gnp.exe") == "Bobgnp.exe")
        #expect(Persona.neutralised("\u{200B}\u{202E}") == "?")
        #expect(Persona.neutralised("Zoë") == "Zoë")
    }

    @Test func refusesARouteWithAnUnprintableServiceURI() throws {
        var bytes = try WireVectors.invite().invite.encoded()
        bytes[75] = 0x20  // a space inside "https://..."
        #expect(throws: WireError.invalidValue(field: "service URI", reason: "must be printable ASCII without spaces")) {
            try Invite(decoding: bytes)
        }
    }

    @Test func refusesUnknownInitialMessageFlags() throws {
        var bytes = ParserCase.all.first { $0.format == .initialMessage }!.valid
        bytes[2] = 2
        #expect(throws: WireError.invalidValue(field: "flags", reason: "unknown flag bits")) {
            try InitialMessage(decoding: bytes)
        }
    }

    @Test func refusesARatchetBodyOutsideThePaddingBuckets() throws {
        let vector = try WireVectors.ratchetMessage()
        // A well-formed message whose body is 17 bytes: no bucket has that size.
        let short = Array(vector.message[0..<106]) + [0, 0, 0, 17] + Array(repeating: 0, count: 17)
        var responder = DoubleRatchet(responding: vector.seed, ourRatchetKey: vector.responderKey)
        #expect(throws: RatchetError.malformed(.invalidValue(field: "body", reason: "length is not a padding bucket"))) {
            try responder.decrypt(short, associatedData: vector.associatedData, now: testNow, random: SystemRandom())
        }
    }
}
