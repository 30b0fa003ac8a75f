import Foundation
import ProtonCrypto

/// Ed25519 cosignatures of checkpoints (c2sp.org/tlog-cosignature, "cosignature/v1"): a
/// witness's statement that, at its timestamp, the checkpoint is the largest consistent tree it
/// has seen for the log. A cosignature is a note signature line on the checkpoint,
/// `— <witness name> base64(key ID || timestamp || signature)`.
public enum Cosignature {
    /// The signature type byte of Ed25519 cosigning keys, in key IDs and verifier keys.
    public static let signatureType: UInt8 = 0x04
    /// The 8-byte big-endian timestamp and the 64-byte Ed25519 signature.
    public static let signatureByteCount = 8 + Ed25519.signatureByteCount

    /// "Two newline terminated lines (one header line and one timestamp line) followed by the
    /// whole note body of the cosigned checkpoint (including the final newline, but not
    /// including any signature lines)": `cosignature/v1`, `time <decimal>`, the checkpoint.
    public static func message(checkpointText: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + Array(checkpointText.utf8)
    }

    /// The largest timestamp the format allows (2^63 - 1).
    public static let maximumTimestamp = UInt64(Int64.max)
}

/// A witness's public cosigning key as clients pin it: its name and Ed25519 key, the key ID
/// `SHA-256(name || 0x0A || 0x04 || key)[:4]`, and the verifier key text
/// `<name>+<hex key ID>+<base64(0x04 || key)>`.
public struct CosignatureVerifier: Sendable, Hashable {
    public let name: String
    public let keyID: UInt32
    public let publicKey: Ed25519.PublicKey

    public init(name: String, publicKey: Ed25519.PublicKey) throws(NoteError) {
        guard NoteVerifier.isValidKeyName(name) else { throw .invalidVerifierKey(reason: "bad key name") }
        self.name = name
        self.publicKey = publicKey
        keyID = Self.keyID(name: name, publicKey: publicKey)
    }

    public static func keyID(name: String, publicKey: Ed25519.PublicKey) -> UInt32 {
        let digest = SHA256.hash(Array(name.utf8) + [0x0A, Cosignature.signatureType] + publicKey.rawRepresentation)
        return digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Parses `<name>+<8 lowercase hex digits>+<base64(0x04 || 32 bytes)>`; a key of another
    /// type or a key ID that does not match is refused.
    public init(verifierKey text: String) throws(NoteError) {
        let (name, keyID, publicKey) = try NoteVerifier.parse(verifierKey: text, signatureType: Cosignature.signatureType)
        try self.init(name: name, publicKey: publicKey)
        guard self.keyID == keyID else { throw .invalidVerifierKey(reason: "the key ID does not match the name and key") }
    }

    public var verifierKey: String {
        name + "+" + NoteVerifier.hex(keyID) + "+" + NoteBase64.encode([Cosignature.signatureType] + publicKey.rawRepresentation)
    }

    /// The timestamp of `signature` when it is this key's valid cosignature of the checkpoint
    /// whose note text is `checkpointText`; nil for another key's line or a signature that
    /// does not verify.
    public func timestamp(of signature: NoteSignature, checkpointText: String) -> UInt64? {
        guard signature.keyName == name, signature.keyID == keyID, signature.signature.count == Cosignature.signatureByteCount else {
            return nil
        }
        let timestamp = signature.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard timestamp <= Cosignature.maximumTimestamp,
            publicKey.isValidSignature(Array(signature.signature.dropFirst(8)), for: Cosignature.message(checkpointText: checkpointText, timestamp: timestamp))
        else { return nil }
        return timestamp
    }
}

/// A witness's private cosigning key.
public struct Cosigner: Sendable {
    private let key: Ed25519.PrivateKey
    public let verifier: CosignatureVerifier

    public init(name: String, key: Ed25519.PrivateKey) throws(NoteError) {
        self.key = key
        verifier = try CosignatureVerifier(name: name, publicKey: key.publicKey)
    }

    /// The cosignature line's content for the checkpoint whose note text is `checkpointText`.
    public func cosign(checkpointText: String, timestamp: UInt64) -> NoteSignature {
        precondition(timestamp <= Cosignature.maximumTimestamp, "a cosignature's timestamp fits 63 bits")
        let signature = key.signature(for: Cosignature.message(checkpointText: checkpointText, timestamp: timestamp))
        let time = (0..<8).map { UInt8(truncatingIfNeeded: timestamp >> (56 - 8 * $0)) }
        return NoteSignature(keyName: verifier.name, keyID: verifier.keyID, signature: time + signature)
    }
}
