import Foundation
import ProtonCore

/// Why an attestation or an attestation bundle was refused.
public enum AttestationError: Error, Equatable, Sendable {
    /// The bytes are not an attestation (or bundle) in the wire format.
    case malformed(WireError)
    /// The directory's signature does not verify under the pinned key.
    case invalidSignature
    /// now < issued.
    case notYetValid(issued: Date, now: Date)
    /// now ≥ expires.
    case expired(expires: Date, now: Date)
    /// A revocation was offered where a binding (attestation or key change) is needed.
    case notABinding(Attestation.Kind)
    /// The checkpoint's note or text was refused.
    case checkpoint(NoteError)
    /// The inclusion proof does not lead from the attestation to the checkpoint's root.
    case inclusion(ProofError)
}

extension AttestationError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .malformed(let error): "not an attestation: \(error)"
        case .invalidSignature: "the directory's signature does not verify: the attestation was altered or forged"
        case .notYetValid(let issued, _): "the attestation is not valid before \(issued)"
        case .expired(let expires, _): "the attestation expired at \(expires)"
        case .notABinding(let kind): "a \(kind) does not attest a key"
        case .checkpoint(let error): "the checkpoint was refused: \(error)"
        case .inclusion(let error): "the attestation is not proven to be in the log: \(error)"
        }
    }
}
