import ProtonCrypto

/// The directory's signing key: an Ed25519 key and its C2SP key name (which is also the
/// log's origin). It signs checkpoints as C2SP signed notes and attestations in their binary
/// format; clients pin `verifier` (its `verifierKey` text) to check both.
///
/// One key, two message kinds, kept apart by their first byte: a note text may not contain a
/// control character, while every attestation starts with the format tag 0x08 (a control
/// character), so no signed attestation is a valid note text and no note an attestation.
public struct DirectoryKey: Sendable {
    public let name: String
    private let privateKey: Ed25519.PrivateKey
    public let verifier: NoteVerifier

    public init(name: String, privateKey: Ed25519.PrivateKey) throws(NoteError) {
        self.name = name
        self.privateKey = privateKey
        self.verifier = try NoteVerifier(name: name, publicKey: privateKey.publicKey)
    }

    public var publicKey: Ed25519.PublicKey { privateKey.publicKey }

    /// Signs a note text: one signature line under this key (c2sp.org/signed-note, "Ed25519
    /// signatures": RFC 8032 over the text, final newline included).
    public func signNote(text: String) -> SignedNote {
        let signature = privateKey.signature(for: Array(text.utf8))
        return SignedNote(text: text, signatures: [NoteSignature(keyName: name, keyID: verifier.keyID, signature: signature)])
    }

    /// Signs a checkpoint of this directory's log. The origin must be this key's name.
    public func sign(_ checkpoint: Checkpoint) throws(NoteError) -> SignedCheckpoint {
        guard checkpoint.origin == name else { throw .unexpectedOrigin(expected: name, actual: checkpoint.origin) }
        return SignedCheckpoint(checkpoint: checkpoint, note: signNote(text: checkpoint.text))
    }

    /// Ed25519 over `message`; for the attestation format only.
    func signature(for message: [UInt8]) -> [UInt8] {
        privateKey.signature(for: message)
    }
}
