import AsyncHTTPClient
import NIOCore

/// The HTTP client the agents use unless given another. Unlike `HTTPClient.shared` it fails a
/// refused connection at once instead of retrying until the deadline, because the agents fail
/// over to another service or route rather than wait; and it follows no redirects, because a
/// signed owner request must reach the service it was signed for.
public enum AgentHTTPClient {
    public static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(90))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        // Lives as long as the process, like HTTPClient.shared, so it is never shut down.
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
