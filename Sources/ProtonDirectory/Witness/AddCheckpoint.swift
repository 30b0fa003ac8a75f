import Foundation
import ProtonCrypto

/// The body of `POST <submission prefix>/add-checkpoint` (c2sp.org/tlog-witness): an old size
/// line `old <decimal>`, zero to 63 consistency proof lines (one base64 hash each), an empty
/// line, and the signed checkpoint note. Every line ends in a newline.
public struct AddCheckpointRequest: Sendable, Equatable {
    /// "The client MUST NOT send more than 63 consistency proof lines."
    public static let maximumProofLineCount = 63
    /// The old size line, the proof lines, the empty line and the largest note we parse.
    public static let maximumByteCount = 32 + maximumProofLineCount * 46 + SignedNote.Limits.maximumByteCount

    public let oldSize: UInt64
    public let proof: [[UInt8]]
    /// The checkpoint note exactly as submitted.
    public let note: SignedNote

    public init(oldSize: UInt64, proof: [[UInt8]], note: SignedNote) {
        self.oldSize = oldSize
        self.proof = proof
        self.note = note
    }

    public func encoded() -> [UInt8] {
        Array(("old \(oldSize)\n" + proof.map { NoteBase64.encode($0) + "\n" }.joined() + "\n" + note.serialized).utf8)
    }

    /// Parses strictly: a malformed body is `WitnessRefusal.malformed` (400).
    public init(parsing body: [UInt8]) throws(WitnessRefusal) {
        guard body.count <= Self.maximumByteCount else { throw .malformed("the body is over \(Self.maximumByteCount) bytes") }
        // The header ends at the first empty line; the checkpoint note holds an empty line of
        // its own further on.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var noteStart: Int?
        for index in body.indices where body[index] == 0x0A {
            let line = body[start..<index]
            start = index + 1
            if line.isEmpty {
                noteStart = start
                break
            }
            lines.append(line)
            guard lines.count <= 1 + Self.maximumProofLineCount else { throw .malformed("more than \(Self.maximumProofLineCount) proof lines") }
        }
        guard let noteStart, let first = lines.first else { throw .malformed("no empty line after the old size and the proof") }
        let sizeLine = String(decoding: first, as: UTF8.self)
        guard sizeLine.hasPrefix("old "), let oldSize = Self.decimal(sizeLine.dropFirst(4)) else {
            throw .malformed("the first line is not \"old <size>\" in decimal without leading zeroes")
        }
        var proof: [[UInt8]] = []
        for line in lines.dropFirst() {
            guard let hash = NoteBase64.decode(String(decoding: line, as: UTF8.self)), hash.count == Merkle.hashByteCount else {
                throw .malformed("a proof line is not the base64 of a 32-byte hash")
            }
            proof.append(hash)
        }
        let note: SignedNote
        do { note = try SignedNote(parsing: Array(body[noteStart...])) } catch { throw .malformed("the checkpoint is not a signed note: \(error)") }
        self.init(oldSize: oldSize, proof: proof, note: note)
    }

    /// An ASCII decimal with no leading zeroes ("0" for zero) that fits 64 bits.
    public static func decimal(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), text == "0" || !text.hasPrefix("0") else { return nil }
        return UInt64(text)
    }
}

/// Why a witness refuses a checkpoint, with the HTTP status c2sp.org/tlog-witness assigns.
public enum WitnessRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// 400: the body does not parse.
    case malformed(String)
    /// 404: no log with this origin is configured.
    case unknownLog(origin: String)
    /// 403: no signature from the log's key verifies.
    case badSignature(origin: String)
    /// 400: the old size is larger than the checkpoint's size.
    case oldSizeTooLarge(oldSize: UInt64, size: UInt64)
    /// 409: the old size is not the size of the latest cosigned checkpoint (answered in the
    /// body, `text/x.tlog.size`).
    case sizeMismatch(latest: UInt64)
    /// 409: the checkpoint has the latest cosigned size but another root.
    case rootMismatch(latest: UInt64)
    /// 422: the consistency proof does not verify (or is not empty from size zero).
    case badProof(String)

    public var status: Int {
        switch self {
        case .malformed, .oldSizeTooLarge: 400
        case .badSignature: 403
        case .unknownLog: 404
        case .sizeMismatch, .rootMismatch: 409
        case .badProof: 422
        }
    }

    /// The size a 409 reports: "the tree size of the latest cosigned checkpoint in decimal,
    /// followed by a newline".
    public var latestSize: UInt64? {
        switch self {
        case .sizeMismatch(let latest), .rootMismatch(let latest): latest
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed request: \(reason)"
        case .unknownLog(let origin): "no log with origin \(origin) is witnessed here"
        case .badSignature(let origin): "no signature from the key of \(origin) verifies"
        case .oldSizeTooLarge(let old, let size): "the old size \(old) is larger than the checkpoint's \(size)"
        case .sizeMismatch(let latest): "the old size is not the latest cosigned size, \(latest)"
        case .rootMismatch(let latest): "a checkpoint of the latest cosigned size \(latest) with another root hash"
        case .badProof(let reason): "the consistency proof does not verify: \(reason)"
        }
    }
}

/// What a witness remembers of one log: the latest checkpoint it cosigned.
public struct WitnessedCheckpoint: Sendable, Equatable {
    public let size: UInt64
    public let rootHash: [UInt8]

    public init(size: UInt64, rootHash: [UInt8]) {
        self.size = size
        self.rootHash = rootHash
    }
}

/// The witness's checks, in the order c2sp.org/tlog-witness gives them, as a pure function of
/// the request, the configured logs and the stored state. The caller runs the state part
/// (`check(_:against:)`) and the update in one transaction.
public enum WitnessRules {
    /// The checkpoint, once its origin is known and its signature verifies; the old size is not
    /// above its size.
    public static func authenticate(_ request: AddCheckpointRequest, logs: [String: NoteVerifier]) throws(WitnessRefusal) -> Checkpoint {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(text: request.note.text) } catch { throw .malformed("the note is not a checkpoint: \(error)") }
        guard let verifier = logs[checkpoint.origin] else { throw .unknownLog(origin: checkpoint.origin) }
        // Signatures from unknown keys are ignored; one from the log's key must verify.
        do { try request.note.verified(by: verifier) } catch { throw .badSignature(origin: checkpoint.origin) }
        guard request.oldSize <= checkpoint.size else { throw .oldSizeTooLarge(oldSize: request.oldSize, size: checkpoint.size) }
        return checkpoint
    }

    /// Checks the request against the latest cosigned checkpoint (nil: never cosigned, size 0).
    public static func check(_ request: AddCheckpointRequest, checkpoint: Checkpoint, against latest: WitnessedCheckpoint?) throws(WitnessRefusal) {
        let latestSize = latest?.size ?? 0
        guard request.oldSize == latestSize else { throw .sizeMismatch(latest: latestSize) }
        if request.oldSize == 0 {
            guard request.proof.isEmpty else { throw .badProof("a proof from size zero must be empty") }
            return
        }
        let latestRoot = latest?.rootHash ?? Merkle.emptyRoot
        if checkpoint.size == latestSize {
            guard checkpoint.rootHash == latestRoot else { throw .rootMismatch(latest: latestSize) }
            guard request.proof.isEmpty else { throw .badProof("a proof between equal sizes must be empty") }
            return
        }
        do {
            try ConsistencyProof(firstSize: latestSize, secondSize: checkpoint.size, hashes: request.proof)
                .verify(firstRoot: latestRoot, secondRoot: checkpoint.rootHash)
        } catch {
            throw .badProof("\(error)")
        }
    }
}
