import Foundation
import Testing

@testable import ProtonCore

/// The bodies written directly are byte for byte what the services' `JSONEncoder` writes, and a
/// string that would need escaping falls back to it.
struct DirectJSONTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

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
            #expect(direct == Array(try Self.encoder.encode(messages)))
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
            #expect(direct == Array(try Self.encoder.encode(batch)))
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
                    #expect(direct == Array(try Self.encoder.encode(status)))
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
        #expect(plain.directJSON == Array(try Self.encoder.encode(plain)))
        for odd in ["\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "/"] {
            let messages = ServiceAPI.Messages(messages: [ServiceAPI.StoredMessage(id: 1, ciphertext: "a" + odd, receivedAt: 2)])
            let batch = ServiceAPI.DeliveryBatch(deliveries: [ServiceAPI.Delivery(sealedAddress: "a" + odd, ciphertext: "b")])
            if odd == "/" {
                // Not escaped with `.withoutEscapingSlashes`: written directly, still the same bytes.
                #expect(messages.directJSON == Array(try Self.encoder.encode(messages)))
            } else {
                #expect(messages.directJSON == nil)
                #expect(batch.directJSON == nil)
            }
        }
    }
}
