import Foundation
import Testing

@testable import ProtonCore

/// The bodies written directly are byte for byte what the services' `JSONEncoder` writes, and a
/// string that would need escaping falls back to it.
struct DirectJSONTests {
    static func randomBase64URL(_ count: Int) -> String {
        Base64URL.encode((0..<count).map { _ in UInt8.random(in: 0...255) })
    }

    @Test func messagesMatchJSONEncoder() throws {
        for count in [0, 1, 2, 17] {
            let messages = ServiceAPI.Messages(
                messages: (0..<count).map { index in
                    ServiceAPI.StoredMessage(
                        id: [0, 1, Int64.max, Int64.min, -7][index % 5] &+ Int64(index), ciphertext: Self.randomBase64URL(index * 13),
                        receivedAt: Int64.random(in: Int64.min...Int64.max))
                })
            let direct = try #require(messages.directJSON)
            #expect(direct == Array(try ServiceJSON.encoder.encode(messages)))
            #expect(try JSONDecoder().decode(ServiceAPI.Messages.self, from: Data(direct)) == messages)
        }
    }

    @Test func deliveryBatchesMatchJSONEncoder() throws {
        for count in [0, 1, 3, 64] {
            let batch = ServiceAPI.DeliveryBatch(
                deliveries: (0..<count).map { index in
                    ServiceAPI.Delivery(sealedAddress: Self.randomBase64URL(80), ciphertext: Self.randomBase64URL(index * 29))
                })
            let direct = try #require(batch.directJSON)
            #expect(direct == Array(try ServiceJSON.encoder.encode(batch)))
        }
    }

    @Test func sendStatusesMatchJSONEncoder() throws {
        let outcomes: [ServiceAPI.SendStatus.Outcome?] = [nil, .delivered, .gone, .full, .refused, .unreachable]
        for state in [ServiceAPI.SendStatus.State.queued, .delivered, .failed] {
            for outcome in outcomes {
                for error in [nil, "", "The receiving service did not answer within 15 s."] {
                    let status = ServiceAPI.SendStatus(
                        id: Self.randomBase64URL(16), state: state, attempts: Int.random(in: 0...1_000), outcome: outcome, error: error)
                    let direct = try #require(status.directJSON)
                    #expect(direct == Array(try ServiceJSON.encoder.encode(status)))
                }
            }
        }
        let quoted = ServiceAPI.SendStatus(id: "a", state: .failed, attempts: 1, outcome: .refused, error: "said \"no\"")
        #expect(quoted.directJSON == nil)
    }

    /// Every printable ASCII character but the two that JSON escapes is written as it is; the
    /// others (and anything outside ASCII) leave the body to `JSONEncoder`.
    @Test func stringsThatNeedEscapingFallBack() throws {
        let printable = String(decoding: (0x20...0x7e).map { UInt8($0) }.filter { $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }, as: UTF8.self)
        let plain = ServiceAPI.Messages(messages: [ServiceAPI.StoredMessage(id: 1, ciphertext: printable, receivedAt: 2)])
        #expect(plain.directJSON == Array(try ServiceJSON.encoder.encode(plain)))
        for odd in ["\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "/"] {
            let messages = ServiceAPI.Messages(messages: [ServiceAPI.StoredMessage(id: 1, ciphertext: "a" + odd, receivedAt: 2)])
            let batch = ServiceAPI.DeliveryBatch(deliveries: [ServiceAPI.Delivery(sealedAddress: "a" + odd, ciphertext: "b")])
            if odd == "/" {
                // Not escaped with `.withoutEscapingSlashes`: written directly, still the same bytes.
                #expect(messages.directJSON == Array(try ServiceJSON.encoder.encode(messages)))
            } else {
                #expect(messages.directJSON == nil)
                #expect(batch.directJSON == nil)
            }
        }
    }

    // MARK: Reading

    static func sampleSend() -> ServiceAPI.Send {
        ServiceAPI.Send(
            receivingService: "http://127.0.0.1:8081", serviceKey: randomBase64URL(32), sealedAddress: randomBase64URL(80),
            ciphertext: randomBase64URL(100))
    }

    /// The bodies as JSONEncoder writes them, in any key order, with whitespace between the
    /// tokens: read directly, to the same values.
    @Test func plainBodiesAreReadDirectly() throws {
        let send = Self.sampleSend()
        let plain = JSONEncoder()
        #expect(ServiceAPI.Send.directJSON(Array(try plain.encode(send))) == send)
        #expect(ServiceAPI.Send.directJSON(Array(try ServiceJSON.encoder.encode(send))) == send)
        #expect(ServiceAPI.Send.directJSON(Array(#"{"receivingService":"http:\/\/a","serviceKey":"b","sealedAddress":"c","ciphertext":"d"}"#.utf8))?.receivingService == "http://a")
        let spaced = #" { "ciphertext" : "\#(send.ciphertext)" ,"sealedAddress":"\#(send.sealedAddress)","serviceKey":"\#(send.serviceKey)",\#n"receivingService":"\#(send.receivingService)"}\#r\#n "#
        #expect(ServiceAPI.Send.directJSON(Array(spaced.utf8)) == send)

        let batch = ServiceAPI.DeliveryBatch(deliveries: (0..<5).map { _ in ServiceAPI.Delivery(sealedAddress: Self.randomBase64URL(80), ciphertext: Self.randomBase64URL(50)) })
        #expect(ServiceAPI.DeliveryBatch.directJSON(Array(try plain.encode(batch))) == batch)
        #expect(ServiceAPI.DeliveryBatch.directJSON(Array(#"{"deliveries":[]}"#.utf8)) == ServiceAPI.DeliveryBatch(deliveries: []))

        let messages = ServiceAPI.Messages(messages: [
            ServiceAPI.StoredMessage(id: .max, ciphertext: "", receivedAt: .min), ServiceAPI.StoredMessage(id: 0, ciphertext: "QQ", receivedAt: -1),
        ])
        #expect(ServiceAPI.Messages.directJSON(Array(try plain.encode(messages))) == messages)
    }

    /// The integers at the ends of Int64's range, and minus zero, read as JSONDecoder reads them.
    @Test(arguments: ["-0", "0", "-9223372036854775808", "9223372036854775807", "-1"])
    func edgeIntegersAreReadAsJSONDecoderReadsThem(_ id: String) throws {
        let body = Array(#"{"messages":[{"id":\#(id),"ciphertext":"QQ","receivedAt":\#(id)}]}"#.utf8)
        let direct = try #require(ServiceAPI.Messages.directJSON(body))
        #expect(direct == (try JSONDecoder().decode(ServiceAPI.Messages.self, from: Data(body))))
    }

    /// `ServiceJSON` takes the direct path for a plain body and Foundation's for the same value
    /// written otherwise, to the same value; a type without a direct reader goes to Foundation.
    @Test func serviceJSONReadsEitherWayToTheSameValue() throws {
        let send = Self.sampleSend()
        let plain = Array(try ServiceJSON.encoder.encode(send))
        let escaped = Array(try JSONEncoder().encode(send))  // unsorted, "\/" for every slash
        let spelled = Array(String(decoding: plain, as: UTF8.self).replacingOccurrences(of: "\"serviceKey\"", with: "\"servic\\u0065Key\"").utf8)
        #expect(ServiceAPI.Send.directJSON(spelled) == nil)
        for body in [plain, escaped, spelled] { #expect(try ServiceJSON.decode(ServiceAPI.Send.self, from: body) == send) }
        #expect(try ServiceJSON.decode(ServiceAPI.Acknowledge.self, from: Array(#"{"upTo":7}"#.utf8)) == ServiceAPI.Acknowledge(upTo: 7))
        #expect(try ServiceJSON.encode(send) == plain)
    }

    /// What the direct reader leaves to JSONDecoder: anything but the plain shape.
    @Test(arguments: [
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c"}"#,  // a key missing
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"d","other":1}"#,  // an unknown key
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"d","ciphertext":"e"}"#,  // a key twice
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"\u0041"}"#,  // an escape other than \/
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"é"}"#,  // not ASCII
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"d"} x"#,  // something after it
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"d",}"#,  // a trailing comma
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":1}"#,  // not a string
        #"{"receivingService":"a","serviceKey":"b","sealedAddress":"c","ciphertext":"d""#,  // cut short
    ])
    func otherSendsAreLeftToJSONDecoder(_ text: String) {
        #expect(ServiceAPI.Send.directJSON(Array(text.utf8)) == nil)
    }

    @Test(arguments: ["1.0", "1e2", "01", "-", "--1", "9223372036854775808", "-9223372036854775809", "1E2", #""1""#])
    func integersOtherThanPlainOnesAreLeftToJSONDecoder(_ id: String) {
        let text = #"{"messages":[{"id":\#(id),"ciphertext":"QQ","receivedAt":0}]}"#
        #expect(ServiceAPI.Messages.directJSON(Array(text.utf8)) == nil)
    }

    /// Bodies mutated at random, thousands of them: whatever the direct reader accepts,
    /// JSONDecoder accepts as the same value (the fuzz target `direct-json` does the same at
    /// length).
    @Test func theDirectReaderNeverDisagreesWithJSONDecoder() throws {
        let plain = JSONEncoder()
        let sends = try (0..<4).map { _ in Array(try plain.encode(Self.sampleSend())) }
        let messages = Array(
            try plain.encode(
                ServiceAPI.Messages(messages: [
                    ServiceAPI.StoredMessage(id: 12, ciphertext: "QUJD", receivedAt: 1_800_000_000),
                    ServiceAPI.StoredMessage(id: 0, ciphertext: "", receivedAt: -5),
                ])))
        let alphabet = Array(#"{}[]:,"\/ 0123456789-.eEaAuQ"#.utf8) + [0x00, 0x0a, 0x7f, 0xc3, 0xa9]
        var readDirectly = 0
        for round in 0..<6_000 {
            var body = round % 3 == 0 ? messages : sends[round % sends.count]
            for _ in 0..<Int.random(in: 1...3) {
                let at = Int.random(in: 0..<body.count)
                switch Int.random(in: 0..<3) {
                case 0: body[at] = alphabet.randomElement()!
                case 1: body.insert(alphabet.randomElement()!, at: at)
                default: body.remove(at: at)
                }
            }
            if round % 3 == 0 {
                let foundation = try? JSONDecoder().decode(ServiceAPI.Messages.self, from: Data(body))
                if let direct = ServiceAPI.Messages.directJSON(body) {
                    readDirectly += 1
                    #expect(direct == foundation, "\(String(decoding: body, as: UTF8.self))")
                }
            } else {
                let foundation = try? JSONDecoder().decode(ServiceAPI.Send.self, from: Data(body))
                if let direct = ServiceAPI.Send.directJSON(body) {
                    readDirectly += 1
                    #expect(direct == foundation, "\(String(decoding: body, as: UTF8.self))")
                }
            }
        }
        // Many mutations land inside a base64url text and leave the shape plain.
        #expect(readDirectly > 500)
    }
}
