import Foundation
import ProtonAgents
import ProtonCore

extension CommandFailure {
    /// Maps what the agents and services can throw to one sentence and a status; anything else
    /// goes through the general mapping.
    init(agent error: any Error) {
        switch error {
        case let error as AgentError:
            let status: ExitStatus =
                switch error {
                case .noSendingService, .noReceivingService, .noAddressCreated: .unavailable
                case .invalidServiceURI, .unknownService, .badProxy: .usage
                case .duplicateService: .cannotCreate
                case .invalidServiceKey: .dataError
                case .configuration: .ioError
                }
            // What to do about it, in this tool's words (the library's sentence says what is wrong).
            let advice =
                switch error {
                case .noSendingService: "; add one with 'proton services add sending URI'"
                case .noReceivingService: "; add one with 'proton services add receiving URI'"
                default: ""
                }
            self.init(status: status, message: (error.description + advice).sentence)
        case let error as RelayError:
            self.init(status: .unavailable, message: error.description.sentence)
        case let error as Proton.Error:
            switch error {
            case .blocked:
                self.init(status: .dataError, message: "You have blocked this contact, so nothing is sent to them.")
            case .tooManyPendingUpdates:
                self.init(
                    status: .temporaryFailure,
                    message: "Too many address changes wait for this contact's acknowledgement; send a message and try again once they reply.")
            case .bodyTooLarge(let limit):
                self.init(status: .dataError, message: "The message is too long; at most \(limit) bytes fit in one message.")
            default:
                self.init(status: .dataError, message: "The relationship refused the step: \(error).")
            }
        default:
            self.init(error)
        }
    }

    /// Runs `body`, turning agent errors into a `CommandFailure`.
    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw CommandFailure(agent: error) }
    }
}
