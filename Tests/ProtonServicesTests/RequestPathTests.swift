import Foundation
import ProtonHTTP
import Testing

@testable import ProtonServices

/// The pieces of every request's path that were made cheaper (docs/performance.md, "Alternated,
/// and a cheaper request path") keep what they guarantee.
@Suite struct RequestPathTests {
    /// A deadline that is not a positive number expires at once, as zero does: a bad value
    /// never turns the slow-body guard off. (No bound on the time taken: in a full suite a task
    /// may wait a minute for a thread. An operation that was never cancelled would end its
    /// sleep and return a value instead of the error.)
    @Test(arguments: [0, -1, -Double.infinity, Double.nan])
    func aDeadlineThatIsNotPositiveExpiresAtOnce(_ seconds: Double) async {
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(seconds) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
    }

    @Test func anOperationThatEndsFirstGivesItsValueOrItsOwnError() async throws {
        #expect(try await withDeadline(30) { 7 } == 7)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await withDeadline(30) { () async throws -> Int in throw Refused() } }
    }

    /// Cancelling the caller cancels the operation, and says so (not "deadline").
    @Test func cancellingTheCallerCancelsTheOperation() async {
        let task = Task {
            try await withDeadline(30) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        try? await Task.sleep(for: .milliseconds(100))
        task.cancel()
        switch await task.result {
        case .success: Issue.record("the operation was not cancelled")
        case .failure(let error): #expect(error is CancellationError)
        }
    }

    /// The parsed-URI cache keeps only short printable-ASCII texts, which Swift compares byte
    /// for byte: a text that is only canonically equivalent to another (the Kelvin sign and
    /// "K") can neither poison the other's entry nor borrow it.
    @Test func aURIOnlyCanonicallyEqualToAnotherDoesNotShareItsCacheEntry() {
        #expect(TargetURI.parsed("http://\u{212A}ite.example") == nil)
        #expect(TargetURI.parsed("http://Kite.example")?.base == "http://kite.example")
        #expect(TargetURI.parsed("http://\u{212A}ite.example") == nil)
        #expect(TargetURI.parsed("http://" + String(repeating: "a", count: 5_000) + ".example") == nil)
    }
}
