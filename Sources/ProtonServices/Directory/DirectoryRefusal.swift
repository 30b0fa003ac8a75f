import Foundation

/// Why the directory refused a change. Every refusal happens before anything is appended to
/// the log: a refused request leaves the log, the names and the pending registrations as they were.
public enum DirectoryRefusal: Error, Equatable, Sendable {
    case invalidName(String)
    case wrongNamespace(expected: String, actual: String)
    /// The name is bound to (or pending for) another key.
    case nameTaken(String)
    /// The policy does not let this key have this name (allowlist).
    case notAllowed(String)
    /// No binding for the name (lookup, revoke, key change).
    case notRegistered(String)
    /// The request's key is not the key bound to the name (revoke, key change).
    case notOwner(String)
    case noPendingRegistration(String)
    case sameKey
    /// The operator's queue is full (approve policy).
    case tooManyPending

    public var description: String {
        switch self {
        case .invalidName(let name): "\"\(name)\" is not a valid name (1 to 64 characters of a-z, 0-9, '.', '_' or '-')"
        case .wrongNamespace(let expected, let actual): "this directory attests names in \(expected), not \(actual)"
        case .nameTaken(let name): "the name \(name) is held by another key"
        case .notAllowed(let name): "the name \(name) is not on this directory's allowlist for this key"
        case .notRegistered(let name): "the name \(name) is not registered"
        case .notOwner(let name): "the request is not signed by the key that holds \(name)"
        case .noPendingRegistration(let name): "there is no pending registration for \(name)"
        case .sameKey: "the new key is the key the name already has"
        case .tooManyPending: "too many registrations are waiting for the operator; try again later"
        }
    }
}
