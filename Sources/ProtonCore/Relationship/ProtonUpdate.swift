/// A change to the relationship's routing that one side tells the other inside the ciphertext.
/// Each carries the sender's sequence number; the sender repeats it on every message until the
/// peer's acknowledgement covers it.
public struct ProtonUpdate: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        /// "Reach me here too; prefer this one." 
        case addRoute(Route)
        /// "Stop using this address of mine."
        case retireAddress(AddressID)
        /// "This is what I call myself."
        case displayName(String)
        /// "This is the newest checkpoint I hold of a directory's log": a signed note, UTF-8,
        /// opaque here (the client weighs it against its own: checkpoint gossip).
        case checkpoint([UInt8])
    }

    /// The largest gossiped checkpoint note: a directory's checkpoint with a dozen witness
    /// cosignatures is under 2 KiB.
    public static let maximumCheckpointByteCount = 4_096

    public let sequence: UInt64
    public let change: Change

    public init(sequence: UInt64, change: Change) {
        self.sequence = sequence
        self.change = change
    }

    private enum Tag: UInt8 {
        case addRoute = 1
        case retireAddress = 2
        case displayName = 3
        case checkpoint = 4
    }

    func encode(into writer: inout WireWriter) {
        switch change {
        case .addRoute(let route):
            writer.byte(Tag.addRoute.rawValue)
            writer.uint64(sequence)
            route.encode(into: &writer)
        case .retireAddress(let address):
            writer.byte(Tag.retireAddress.rawValue)
            writer.uint64(sequence)
            writer.fixed(address.bytes)
        case .displayName(let name):
            writer.byte(Tag.displayName.rawValue)
            writer.uint64(sequence)
            writer.short(Array(name.utf8))
        case .checkpoint(let note):
            writer.byte(Tag.checkpoint.rawValue)
            writer.uint64(sequence)
            writer.medium(note)
        }
    }

    static func decode(from reader: inout WireReader) throws(WireError) -> ProtonUpdate {
        let rawTag = try reader.byte("update type")
        guard let tag = Tag(rawValue: rawTag) else {
            throw .invalidValue(field: "update type", reason: "unknown type \(rawTag)")
        }
        let sequence = try reader.uint64("update sequence")
        guard sequence > 0 else { throw .invalidValue(field: "update sequence", reason: "must start at 1") }
        switch tag {
        case .addRoute:
            return ProtonUpdate(sequence: sequence, change: .addRoute(try Route.decode(from: &reader)))
        case .retireAddress:
            return ProtonUpdate(
                sequence: sequence, change: .retireAddress(try AddressID(bytes: reader.fixed(AddressID.byteCount, "address"))))
        case .displayName:
            let name = try reader.shortString("display name", limit: Persona.maximumNameByteCount)
            guard !name.isEmpty else { throw .invalidValue(field: "display name", reason: "empty") }
            guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .invalidValue(field: "display name", reason: "contains control characters")
            }
            // What the later display-name rules refuse (bidirectional controls, line breaks,
            // nothing visible) is taken out rather than refused: refusing would drop every
            // message of a peer whose name predates the rules, and load no state of ours that
            // still holds such an update.
            return ProtonUpdate(sequence: sequence, change: .displayName(Persona.neutralised(name)))
        case .checkpoint:
            let note = try reader.medium("checkpoint", limit: Self.maximumCheckpointByteCount)
            guard !note.isEmpty else { throw .invalidValue(field: "checkpoint", reason: "empty") }
            guard String(validating: note, as: UTF8.self) != nil else { throw .invalidValue(field: "checkpoint", reason: "not UTF-8") }
            return ProtonUpdate(sequence: sequence, change: .checkpoint(note))
        }
    }
}
