/// The parsers that only this package reaches directly, for the fuzz targets
/// (`Sources/ProtonFuzzTargets`): the ratchet message's framing, the header inside its
/// encryption and the payload inside the body are otherwise reached only after decryption.
package enum FuzzAccess {
    package static func parseRatchetMessage(_ bytes: [UInt8]) throws {
        _ = try DoubleRatchet.parse(bytes)
    }

    /// The header decoded and encoded again.
    package static func reencodeRatchetHeader(_ bytes: [UInt8]) throws -> [UInt8] {
        try RatchetHeader(decoding: bytes).encoded()
    }

    /// The payload decoded and encoded again.
    package static func reencodePayload(_ bytes: [UInt8]) throws -> [UInt8] {
        try ProtonPayload(decoding: bytes).encoded()
    }

    /// Payloads with each kind of update, a notice and a body.
    package static func payloadSeeds(routes: [Route]) -> [[UInt8]] {
        let updates = routes.enumerated().map { ProtonUpdate(sequence: UInt64($0.offset + 1), change: .addRoute($0.element)) }
        return [
            ProtonPayload(acknowledged: 0, sequence: 1, updates: [], body: Array("hello".utf8)).encoded(),
            ProtonPayload(
                acknowledged: 3, sequence: 7, notices: .staleSenderState,
                updates: updates + [
                    ProtonUpdate(sequence: 9, change: .displayName("Blair")),
                    ProtonUpdate(sequence: 10, change: .retireAddress(routes[0].address)),
                ], body: []
            ).encoded(),
            ProtonPayload(
                acknowledged: 2, sequence: 6,
                updates: [ProtonUpdate(sequence: 3, change: .checkpoint(Array("example.org\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\u{2014} example.org AAAA\n".utf8)))],
                body: Array("hello".utf8)
            ).encoded(),
        ]
    }
}
