import Foundation
import ProtonCore
import ProtonCrypto

/// One side of a pairing: everything this side brings to it. `initiate(over:…)` and
/// `respond(over:…)` run the protocol of docs/pairing.md over a `PairingChannel`:
///
/// 1. a commitment to the initiator's SAS nonce, in the clear;
/// 2. a Noise XXhfs handshake (X25519 and ML-KEM-768) that authenticates both identity keys
///    and yields `h`;
/// 3. inside the encrypted channel, the nonces, the SAS both people compare, and both
///    confirmations;
/// 4. key packages and attestations both ways, then X3DH bound to `h` and one ratchet message
///    each way, so both sides end with a proton that knows the other's name and routes.
///
/// Any failure aborts with a `PairingError` and returns nothing; nothing is ever stored here.
public struct Pairing: Sendable {
    public static let maximumAttestationByteCount = 4096

    public var persona: Persona
    /// Fresh routes for this peer (at least one). The first also goes into our key package.
    public var routes: [OwnRoute]
    /// An opaque attestation for the peer to check, e.g. a directory's signed name binding.
    public var attestation: [UInt8]?
    public var policy: RotationPolicy
    /// How long to wait for the other person to confirm the numbers.
    public var confirmationTimeout: Duration = .seconds(300)
    /// How long our key package claims to be valid.
    public var keyPackageLifetime: TimeInterval = 600

    /// Test seam: the initiator reveals this instead of the nonce it committed to.
    var revealedNonceOverride: [UInt8]?
    /// Replay seam (the pairing fuzz targets replay a recorded pairing): an ML-KEM encapsulation
    /// to a key (the responder's in the handshake, the initiator's at the start), which ML-KEM
    /// otherwise draws fresh inside the library.
    package var encapsulation: (@Sendable (MLKEM.PublicKey) -> MLKEM.Encapsulation)?

    public init(persona: Persona, routes: [OwnRoute], attestation: [UInt8]? = nil, policy: RotationPolicy = .init()) {
        self.persona = persona
        self.routes = routes
        self.attestation = attestation
        self.policy = policy
    }

    /// The person's answer to "do both screens show these digits?".
    public typealias Confirm = @Sendable (_ sas: String) async -> Bool

    /// Runs `body`; on failure tells the peer (best effort) that we stopped, so it need not wait
    /// for its timeout, and rethrows.
    func abortingOnFailure<T>(
        _ channel: some PairingChannel, _ body: () async throws(PairingError) -> T
    ) async throws(PairingError) -> T {
        do {
            return try await body()
        } catch {
            switch error {
            case .peerClosed, .peerAborted, .io: break
            default: _ = try? await channel.send(PairingFrame(.abort, payload: []))
            }
            throw error
        }
    }

    func validate() throws(PairingError) {
        guard !routes.isEmpty else { throw .noRoutes }
        if let attestation, attestation.count > Self.maximumAttestationByteCount {
            throw .oversized(limit: Self.maximumAttestationByteCount, actual: attestation.count)
        }
    }

    /// Shows the SAS, sends our person's answer, and waits for the other person's.
    func confirmBoth(_ sas: String, _ confirm: Confirm, _ secure: inout SecureChannel) async throws(PairingError) {
        let accepted = await confirm(sas)
        try await secure.send(.confirmation, [accepted ? 1 : 0])
        guard accepted else { throw .rejectedByUser }
        let answer = try await secure.receive(.confirmation, timeout: confirmationTimeout)
        guard answer.count == 1, answer[0] <= 1 else { throw .malformed("confirmation must be one byte, 0 or 1") }
        guard answer[0] == 1 else { throw .sasMismatch }
    }

    /// A hybrid key package (PQXDH) with fresh prekeys; returns their private halves too. The
    /// initiator's start encapsulates to the one-time ML-KEM key, so the relationship's keys
    /// depend on an ML-KEM secret as well as the DHs.
    func makeKeyPackage(now: Date, random: some RandomSource)
        -> (KeyPackage, signed: X25519.PrivateKey, oneTime: X25519.PrivateKey, kem: [MLKEM.PrivateKey])
    {
        let signed = X25519.PrivateKey(using: random)
        let oneTime = X25519.PrivateKey(using: random)
        let lastResortKEM = MLKEM.PrivateKey(using: random)
        let oneTimeKEM = MLKEM.PrivateKey(using: random)
        // One one-time prekey is within the package's limit, so this cannot throw.
        let package = try! KeyPackage(
            identity: persona.identityKey, signedPrekey: signed.publicKey, kemPrekey: lastResortKEM.publicKey,
            oneTimePrekeys: [(oneTime.publicKey, oneTimeKEM.publicKey)], route: routes.first?.route,
            expires: now.addingTimeInterval(keyPackageLifetime))
        return (package, signed, oneTime, [oneTimeKEM])
    }

    /// Decodes the peer's key package and checks that it speaks for the identity the handshake
    /// authenticated: otherwise someone with a different key could slip in their prekeys.
    static func peerKeyPackage(_ bytes: [UInt8], handshakeIdentity: X25519.PublicKey) throws(PairingError) -> KeyPackage {
        let package: KeyPackage
        do { package = try KeyPackage(decoding: bytes) } catch { throw .malformed("key package: \(error)") }
        guard let mapped = try? package.identityKey.agreementKey(), mapped == handshakeIdentity else {
            throw .identityMismatch
        }
        return package
    }

    /// Runs a ProtonCore step, reporting its failure as a pairing failure.
    static func relationship<T>(_ body: () throws(Proton.Error) -> T) throws(PairingError) -> T {
        do { return try body() } catch { throw .relationshipFailed(error) }
    }

    static func nonce(_ bytes: [UInt8]) throws(PairingError) -> [UInt8] {
        guard bytes.count == PairingCommitment.nonceByteCount else {
            throw .malformed("SAS nonce is not \(PairingCommitment.nonceByteCount) bytes")
        }
        return bytes
    }

    static func emptyHandshakePayload(_ payload: [UInt8]) throws(PairingError) {
        guard payload.isEmpty else { throw .malformed("unexpected handshake payload") }
    }
}
