import Foundation
import ProtonCore
import ProtonCrypto

/// Why an attestation bundle that someone presented for their own key (in an invite or a
/// pairing) does not prove their name. None of these is fatal to the relationship: the
/// contact simply stays unverified.
public enum PresentedAttestationError: Error, Equatable, Sendable {
    /// More bytes than any bundle may have; nothing was parsed.
    case oversized(limit: Int, actual: Int)
    /// The bytes are not an attestation bundle in the wire format.
    case malformed(WireError)
    /// No directory is pinned for the attested namespace, so there is no key to check it with.
    case unknownDirectory(namespace: String)
    /// The bundle does not verify under the pinned directory's key (forged, altered, expired,
    /// not in the signed log, or a revocation).
    case invalid(AttestationError)
    /// The bundle verifies but attests another key than the presenter's own.
    case otherKey(attested: Ed25519.PublicKey, presenter: Ed25519.PublicKey)
}

extension PresentedAttestationError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .oversized(let limit, let actual): "the attestation is \(actual) bytes, more than the \(limit) any attestation may have"
        case .malformed(let error): "the attestation does not parse (\(error))"
        case .unknownDirectory(let namespace): "no directory is pinned for \(namespace)"
        case .invalid(let error): "\(error)"
        case .otherKey(let attested, let presenter): "the attestation is for another key (\(attested)), not the peer's \(presenter)"
        }
    }
}

extension AttestationBundle {
    /// Parses a bundle received from someone, bounded before anything is read.
    public init(presented bytes: [UInt8]) throws(PresentedAttestationError) {
        guard bytes.count <= Self.maximumByteCount else { throw .oversized(limit: Self.maximumByteCount, actual: bytes.count) }
        do { try self.init(decoding: bytes) } catch { throw .malformed(error) }
    }

    /// Verifies the bundle offline (`verify(directory:now:)`) and that it binds `identityKey`:
    /// the one check every use of a bundle for a contact's key makes.
    @discardableResult
    public func verify(binding identityKey: Ed25519.PublicKey, directory: NoteVerifier, now: Date) throws(PresentedAttestationError) -> Checkpoint {
        let checkpoint: Checkpoint
        do { checkpoint = try verify(directory: directory, now: now) } catch { throw .invalid(error) }
        try requireBinding(identityKey)
        return checkpoint
    }

    /// Parses and verifies a bundle presented by the holder of `identityKey`, with the pinned
    /// directory key for its namespace from `pinnedKey` (nil when none is pinned).
    public static func verifyPresented(
        _ bytes: [UInt8], by identityKey: Ed25519.PublicKey, now: Date, pinnedKey: (_ namespace: String) -> NoteVerifier?
    ) throws(PresentedAttestationError) -> (bundle: AttestationBundle, checkpoint: Checkpoint) {
        let bundle = try AttestationBundle(presented: bytes)
        guard let directory = pinnedKey(bundle.attestation.namespace) else {
            throw .unknownDirectory(namespace: bundle.attestation.namespace)
        }
        let checkpoint = try bundle.verify(binding: identityKey, directory: directory, now: now)
        return (bundle, checkpoint)
    }
}
