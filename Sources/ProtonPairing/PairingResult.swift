import ProtonCore
import ProtonCrypto

/// What a successful pairing hands back. Nothing has been stored: the caller stores the proton
/// (and whatever else it wants to keep) now, so that a pairing that failed left no trace.
public struct PairingResult: Sendable {
    /// The new relationship, already past its first exchange in both directions: it knows the
    /// peer's display name and routes, and the peer knows ours.
    public let proton: Proton
    /// The identity key the handshake authenticated and the person confirmed through the SAS.
    public let peerIdentity: Ed25519.PublicKey
    /// The six digits both people compared.
    public let sas: String
    /// The peer's key package, its identity checked against the handshake.
    public let peerKeyPackage: KeyPackage
    /// The peer's attestation, opaque and not yet verified (a directory checks it later).
    public let peerAttestation: [UInt8]?
    /// Noise's handshake hash: binds everything exchanged, and was mixed into the X3DH secret.
    public let handshakeHash: [UInt8]
}
