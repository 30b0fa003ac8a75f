import Foundation
import ProtonCore
import ProtonCrypto
import ProtonDirectory

/// What a directory (or a peer presenting a directory's word) hands a client: attestations,
/// bundles with their inclusion proofs, signed notes and checkpoints (C2SP signed-note and
/// tlog-checkpoint), verifier keys, and consistency proofs.
enum DirectoryTargets {
    static let all: [FuzzTarget] = [attestation, bundle, signedNote, checkpoint, verifierKey, proofs]

    static let attestation = FuzzTarget(
        "attestation", "Attestation (0x08): decode, exact re-encoding, signature check against the directory key",
        seeds: { [Seeds.Directory.attestation.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let statement = try? Attestation(decoding: input) else { return false }
        try require(statement.encoded() == input, "attestation", "accepted bytes re-encode differently")
        _ = try? statement.verify(directory: Seeds.Directory.key.verifier, now: Fixtures.now)
        return true
    }

    /// A bundle as presented in an invite or a pairing: parsed, verified offline against the
    /// directory key and bound to an identity. Whatever verifies must be the genuine statement.
    static let bundle = FuzzTarget(
        "bundle", "Attestation bundle (0x09) as presented: decode, re-encoding, offline verification and binding",
        seeds: { [Seeds.Directory.bundle.encoded()] }
    ) { input throws(FuzzViolation) in
        guard let presented = try? AttestationBundle(presented: input) else { return false }
        try require(presented.encoded() == input, "bundle", "accepted bytes re-encode differently")
        let identity = Seeds.alex.identityKey.publicKey
        if (try? presented.verify(binding: identity, directory: Seeds.Directory.key.verifier, now: Fixtures.now)) != nil {
            try require(
                presented.attestation.encoded() == Seeds.Directory.attestation.encoded(), "bundle",
                "a bundle the directory never signed verified")
        }
        return true
    }

    static let signedNote = FuzzTarget(
        "signed-note", "C2SP signed note: parse, exact re-serialisation, verification",
        seeds: { [Array(Seeds.Directory.checkpoint.serialized.utf8)] }
    ) { input throws(FuzzViolation) in
        guard let note = try? SignedNote(parsing: input) else { return false }
        try require(Array(note.serialized.utf8) == input, "signed-note", "accepted note re-serialises differently")
        _ = try? note.verified(by: Seeds.Directory.key.verifier)
        return true
    }

    /// A checkpoint body and a signed checkpoint from the directory. A signed one that verifies
    /// must be the directory's own.
    static let checkpoint = FuzzTarget(
        "checkpoint", "C2SP tlog-checkpoint: body parse and re-encoding, signed checkpoint verification",
        seeds: { [Array(Seeds.Directory.checkpoint.checkpoint.text.utf8), Array(Seeds.Directory.checkpoint.serialized.utf8)] }
    ) { input throws(FuzzViolation) in
        let body = try? Checkpoint(text: input.text)
        if let body {
            try require(body.text == input.text, "checkpoint", "accepted body re-encodes differently")
        }
        let key = Seeds.Directory.key
        let signed = try? SignedCheckpoint(verifying: input.text, verifier: key.verifier, origin: key.name)
        if let signed {
            try require(signed.checkpoint == Seeds.Directory.checkpoint.checkpoint, "checkpoint", "a forged checkpoint verified")
        }
        return body != nil || signed != nil
    }

    static let verifierKey = FuzzTarget(
        "verifier-key", "C2SP verifier key text (name+hash+base64 key), as pinned with 'directory add'",
        seeds: { [Array(Seeds.Directory.key.verifier.verifierKey.utf8)] }
    ) { input throws(FuzzViolation) in
        guard let verifier = try? NoteVerifier(verifierKey: input.text) else { return false }
        try require(verifier.verifierKey == input.text, "verifier-key", "accepted key re-encodes differently")
        return true
    }

    /// Inclusion and consistency proofs with hostile sizes and hashes (every arithmetic edge),
    /// and, from the same input, a real log of up to 64 leaves whose genuine proofs must verify
    /// and whose altered proofs must not.
    static let proofs = FuzzTarget(
        "proofs", "RFC 9162 inclusion and consistency proofs: hostile sizes and hashes; genuine proofs verify, altered ones fail",
        seeds: { [Array(repeating: 0, count: 16) + Array(repeating: 1, count: 64), [3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]] }
    ) { input throws(FuzzViolation) in
        var reader = ByteCursor(input)
        let first = reader.uint64()
        let second = reader.uint64()
        var hashes: [[UInt8]] = []
        while hashes.count < 80, let hash = reader.take(32) { hashes.append(hash) }
        let root = hashes.first ?? Array(repeating: 0, count: 32)
        _ = try? InclusionProof(leafIndex: first, treeSize: second, hashes: hashes).verify(leafHash: root, root: root)
        _ = try? ConsistencyProof(firstSize: first, secondSize: second, hashes: hashes).verify(firstRoot: root, secondRoot: root)

        let size = UInt64(second % 64) + 1
        let index = first % size
        let older = UInt64(first % size) + 1
        let log = InMemoryTransparencyLog()
        _ = try? log.append((0..<size).map { [UInt8(truncatingIfNeeded: $0)] + root })
        guard let rootHash = try? log.root(size: size), let olderRoot = try? log.root(size: older),
            let inclusion = try? log.inclusionProof(index: index, size: size),
            let consistency = try? log.consistencyProof(from: older, to: size)
        else { throw FuzzViolation(target: "proofs", property: "a log of \(size) leaves gave no proof") }
        let leafHash = Merkle.leafHash(try! log.leaf(at: index))
        try require((try? inclusion.verify(leafHash: leafHash, root: rootHash)) != nil, "proofs", "a genuine inclusion proof failed")
        try require(
            (try? consistency.verify(firstRoot: olderRoot, secondRoot: rootHash)) != nil, "proofs", "a genuine consistency proof failed")
        if !inclusion.hashes.isEmpty {
            var altered = inclusion.hashes
            altered[Int(first % UInt64(altered.count))][0] ^= 1
            let forged = InclusionProof(leafIndex: index, treeSize: size, hashes: altered)
            try require((try? forged.verify(leafHash: leafHash, root: rootHash)) == nil, "proofs", "an altered inclusion proof verified")
        }
        if !consistency.hashes.isEmpty {
            var altered = consistency.hashes
            altered[Int(second % UInt64(altered.count))][31] ^= 0x80
            let forged = ConsistencyProof(firstSize: older, secondSize: size, hashes: altered)
            try require(
                (try? forged.verify(firstRoot: olderRoot, secondRoot: rootHash)) == nil, "proofs", "an altered consistency proof verified")
        }
        return true
    }
}

/// Reads fixed-size values off the front of a fuzz input, zeros when it runs out.
struct ByteCursor {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func uint64() -> UInt64 {
        (take(8) ?? Array(repeating: 0, count: 8)).reduce(0) { $0 << 8 | UInt64($1) }
    }

    var rest: [UInt8] { Array(bytes[offset...]) }
}
