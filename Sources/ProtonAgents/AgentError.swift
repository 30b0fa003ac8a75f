import Foundation

/// Why the agents or the services configuration refused. Each case reads as one sentence.
public enum AgentError: Error, Equatable, Sendable {
    /// No sending service is configured, so nothing can be sent.
    case noSendingService
    /// No receiving service is configured, so no fresh address can be created.
    case noReceivingService
    /// A service URI is not an absolute http or https URI.
    case invalidServiceURI(String)
    /// The service is configured already.
    case duplicateService(String)
    /// No configured service has this URI.
    case unknownService(String)
    /// The receiving service published a key that is not an X25519 key.
    case invalidServiceKey(String)
    /// services.json (or the receive state) could not be read or written.
    case configuration(path: String, reason: String)
    /// Every receiving service refused or failed to create a fresh address.
    case noAddressCreated(reason: String)
    /// The proxy given with --proxy or $PROTON_PROXY is not one the agents can use.
    case badProxy(String, reason: String)
}

extension AgentError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .noSendingService:
            "no sending service is configured"
        case .noReceivingService:
            "no receiving service is configured"
        case .invalidServiceURI(let uri):
            "\"\(uri)\" is not an absolute http or https URI of at most 200 characters"
        case .duplicateService(let uri):
            "the service \(uri) is configured already"
        case .unknownService(let uri):
            "no configured service has the URI \(uri)"
        case .invalidServiceKey(let uri):
            "\(uri) published a public key that is not an X25519 key"
        case .configuration(let path, let reason):
            "could not use \(path): \(reason)"
        case .noAddressCreated(let reason):
            "no receiving service could create a fresh address: \(reason)"
        case .badProxy(let text, let reason):
            "the proxy \"\(text.prefix(200))\" cannot be used: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
