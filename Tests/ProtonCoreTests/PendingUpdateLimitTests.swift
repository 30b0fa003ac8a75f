import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

struct PendingUpdateLimitTests {
    @Test func refusesToIssueRoutesBeyondThePendingUpdateLimitAndStillTalks() throws {
        var r = try Relationship(seed: "pending limit")
        var issued = 0
        var refusal: Proton.Error?
        // Alice never hears back, so nothing she offers is acknowledged.
        for _ in 0..<(Proton.maximumPendingUpdates + 4) {
            do {
                try r.alice.issue(try r.routes.route(), authKey: Ed25519.PrivateKey(using: r.random), now: testNow)
                issued += 1
            } catch {
                refusal = error as? Proton.Error
                break
            }
        }
        #expect(refusal == .tooManyPendingUpdates(limit: Proton.maximumPendingUpdates))
        #expect(r.alice.pendingUpdates.count == Proton.maximumPendingUpdates)
        #expect(issued < Proton.maximumPendingUpdates)
        // Every pending update still fits in one payload, and the peer applies them all.
        let message = try r.aliceSeals("still here")
        let received = try r.bobOpens(message)
        #expect(received.text == "still here")
        #expect(r.bob.peerUpdatesApplied == r.alice.nextUpdateSequence - 1)
    }
}
