import Foundation
import ProtonHTTP
import Testing

@testable import ProtonServices

/// The pieces of every request's path that were made cheaper (docs/performance.md, "Alternated,
/// and a cheaper request path") keep what they guarantee.
@Suite struct RequestPathTests {
    /// A deadline that is not a positive number expires at once, as zero does: a bad value
    /// never turns the slow-body guard off.
    @Test(arguments: [0, -1, -Double.infinity, Double.nan])
    func aDeadlineThatIsNotPositiveExpiresAtOnce(_ seconds: Double) async {
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(seconds) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func anOperationThatEndsFirstGivesItsValueOrItsOwnError() async throws {
        #expect(try await withDeadline(30) { 7 } == 7)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await withDeadline(30) { () async throws -> Int in throw Refused() } }
    }

    /// Cancelling the caller cancels the operation at once, and says so (not "deadline").
    @Test func cancellingTheCallerCancelsTheOperation() async {
        let task = Task {
            try await withDeadline(30) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        try? await Task.sleep(for: .milliseconds(100))
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(10))
        switch result {
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
