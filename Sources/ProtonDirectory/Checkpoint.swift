import Foundation

/// A transparency log checkpoint (c2sp.org/tlog-checkpoint): the origin, the tree size and
/// the RFC 6962 / RFC 9162 root hash at that size, and optional extension lines.
///
///     example.org/directory
///     20852163
///     CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
///
/// The directory writes no extension lines ("NOT RECOMMENDED, as they are not auditable"), but
/// the parser keeps any it finds.
public struct Checkpoint: Sendable, Equatable {
    public let origin: String
    public let size: UInt64
    public let rootHash: [UInt8]
    public let extensions: [String]

    public init(origin: String, size: UInt64, rootHash: [UInt8], extensions: [String] = []) throws(NoteError) {
        // "The origin MUST be non-empty"; it SHOULD be a key-name-like URL, and as it doubles
        // as our key name (the log's key name "SHOULD match the origin line") it must be one.
        guard NoteVerifier.isValidKeyName(origin) else { throw .invalidCheckpoint(reason: "the origin is not a valid key name") }
        guard rootHash.count == Merkle.hashByteCount else { throw .invalidCheckpoint(reason: "the root hash is not 32 bytes") }
        // The root of the empty tree is fixed (RFC 9162 section 2.1.1), so a size-0 checkpoint
        // with any other root is false on its face.
        guard size <= Merkle.maximumTreeSize else { throw .invalidCheckpoint(reason: "the tree size is over 2^63 - 1") }
        guard size > 0 || rootHash == Merkle.emptyRoot else {
            throw .invalidCheckpoint(reason: "an empty tree's root hash is SHA-256 of the empty string")
        }
        for line in extensions {
            // "Extension lines, if any, MUST be non-empty."
            guard !line.isEmpty, !line.utf8.contains(where: { $0 < 0x20 }) else {
                throw .invalidCheckpoint(reason: "an extension line is empty or holds a control character")
            }
        }
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The note text: origin, decimal size ("with no leading zeroes"), base64 root hash, the
    /// extension lines; each line ends in a newline.
    public var text: String {
        ([origin, String(size), NoteBase64.encode(rootHash)] + extensions).map { $0 + "\n" }.joined()
    }

    /// Parses a checkpoint's note text ("a sequence of at least three non-empty lines").
    public init(text: String) throws(NoteError) {
        // Split on the newline byte, not on Characters: "\r\n" is one Character in Swift.
        let bytes = Array(text.utf8)
        guard bytes.last == 0x0A else { throw .invalidCheckpoint(reason: "the text does not end in a newline") }
        let lines = bytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard lines.count >= 3 else { throw .invalidCheckpoint(reason: "fewer than three lines") }
        guard lines.count <= SignedNote.Limits.maximumTextLineCount else {
            throw .tooLarge(what: "text line count", limit: SignedNote.Limits.maximumTextLineCount, actual: lines.count)
        }
        // "the ASCII decimal representation of the number of leaves in the tree, with no leading
        // zeroes (unless the tree is empty, in which case the tree size is 0)".
        let sizeLine = lines[1]
        guard !sizeLine.isEmpty, sizeLine.utf8.count <= 20, sizeLine.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            sizeLine == "0" || !sizeLine.hasPrefix("0"), let size = UInt64(sizeLine)
        else { throw .invalidCheckpoint(reason: "the tree size is not a decimal number without leading zeroes") }
        guard let root = NoteBase64.decode(lines[2]) else { throw .invalidCheckpoint(reason: "the root hash is not base64") }
        try self.init(origin: lines[0], size: size, rootHash: root, extensions: Array(lines.dropFirst(3)))
    }
}

/// A checkpoint in a signed note, verified against the pinned directory key.
public struct SignedCheckpoint: Sendable, Equatable {
    public let checkpoint: Checkpoint
    public let note: SignedNote

    /// Wraps a checkpoint and its note; use `DirectoryKey.sign(_:)` to make one.
    init(checkpoint: Checkpoint, note: SignedNote) {
        self.checkpoint = checkpoint
        self.note = note
    }

    /// Parses `serialized`, verifies it by the signed-note rules against `verifier`, then parses
    /// the checkpoint and requires its origin to be `origin` (by default the key's name: "The
    /// log's key name in its signature line SHOULD match the origin line", and a client that
    /// pinned one log must not accept another log's checkpoints).
    public init(verifying serialized: String, verifier: NoteVerifier, origin: String? = nil) throws(NoteError) {
        let note = try SignedNote(parsing: serialized)
        try note.verified(by: verifier)
        let checkpoint = try Checkpoint(text: note.text)
        let expected = origin ?? verifier.name
        guard checkpoint.origin == expected else { throw .unexpectedOrigin(expected: expected, actual: checkpoint.origin) }
        self.init(checkpoint: checkpoint, note: note)
    }

    /// The signed note text, as served and stored.
    public var serialized: String { note.serialized }

    /// The same checkpoint with more signature lines after the log's own (witnesses'
    /// cosignatures, c2sp.org/tlog-cosignature); a line already there is not repeated.
    public func adding(_ signatures: [NoteSignature]) -> SignedCheckpoint {
        let new = signatures.filter { !note.signatures.contains($0) }
        return SignedCheckpoint(checkpoint: checkpoint, note: SignedNote(text: note.text, signatures: note.signatures + new))
    }
}
