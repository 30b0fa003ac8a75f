import ProtonClient
/// What `proton pair --json` prints once both people confirmed and the contact is stored.
struct PairReport: Encodable {
    let role: Profile.PairingRole
    let contact: String
    let relationshipID: String
    let protonID: String
    let persona: String
    let peerIdentityKey: String
    let peerFingerprint: String
    let safetyNumber: String
    /// The six digits both screens showed.
    let sas: String
    let peerAddress: String?
    let adapter: String
    /// From the start of listening or connecting until the RFCOMM connection was up.
    let connectMilliseconds: Int
    /// From the connection until both sides confirmed and the key packages were exchanged
    /// (includes the people's answers unless --yes).
    let handshakeMilliseconds: Int
    /// Whether the peer's attestation of their name verified here, and if not, why.
    let peerAttestation: PresentedAttestationCheck
}
