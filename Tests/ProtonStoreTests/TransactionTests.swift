import Foundation
import GRDB
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonStore

struct TransactionTests {
    @Test func anErrorInTheMiddleOfASendingStepLeavesTheEarlierState() throws {
        let pair = try PairedProfiles()
        let store = pair.alex.store
        let protonID = try #require(pair.alex.protonID)
        let before = ProtonSnapshot(try store.proton(protonID))
        let logBefore = try pair.alex.log()
        let outboxBefore = try store.outbox().count

        #expect(throws: InjectedFailure.self) {
            try store.transaction { tx in
                var proton = try tx.proton(protonID)
                let outgoing = try proton.seal(Array("lost".utf8), now: testNow, random: SystemRandom())
                try tx.recordOutgoing(
                    protonID: protonID, updated: proton, body: Array("lost".utf8), ciphertext: outgoing.ciphertext,
                    routes: outgoing.routes, now: testNow)
                // The proton, the message and the outbox row are written; now the step fails.
                throw InjectedFailure()
            }
        }

        #expect(ProtonSnapshot(try store.proton(protonID)) == before)
        #expect(try pair.alex.log() == logBefore)
        #expect(try store.outbox().count == outboxBefore)
    }

    @Test func anErrorInTheMiddleOfAReceivingStepLeavesTheEarlierState() throws {
        let pair = try PairedProfiles()
        _ = try pair.alex.send("skipped")
        let late = try pair.alex.send("overtakes")
        let store = pair.blair.store
        let protonID = try #require(pair.blair.protonID)
        let before = ProtonSnapshot(try store.proton(protonID))

        #expect(throws: InjectedFailure.self) {
            try store.transaction { tx in
                var proton = try tx.proton(protonID)
                let address = late.routes[0].address
                _ = try proton.open(late.ciphertext, at: address, now: testNow, random: SystemRandom())
                #expect(proton.skippedKeys.count == 1)
                try tx.updateProton(protonID, to: proton, now: testNow)
                throw InjectedFailure()
            }
        }

        let after = try store.proton(protonID)
        #expect(ProtonSnapshot(after) == before)
        #expect(after.skippedKeys.isEmpty)
        #expect(try pair.blair.log() == ["< hello Blair"])
        // The message was not consumed: it still opens.
        #expect(try pair.blair.receive(late) == "overtakes")
    }

    @Test func aCompletedTransactionCommitsEverything() throws {
        let pair = try PairedProfiles()
        let store = pair.alex.store
        let protonID = try #require(pair.alex.protonID)
        let messageIDs = try store.transaction { tx in
            (try tx.appendMessage(protonID: protonID, direction: .outgoing, body: [1], address: nil, timestamp: testNow),
             try tx.appendMessage(protonID: protonID, direction: .outgoing, body: [2], address: nil, timestamp: testNow))
        }
        #expect(messageIDs.1 == messageIDs.0 + 1)
        #expect(try store.messages(protonID: protonID).map(\.body).suffix(2) == [[1], [2]])
    }
}

struct ConcurrentWriterTests {
    /// Two store objects on one profile stand for two processes. Each send loads, steps and
    /// records the proton in one transaction, so no step is lost and no message key is used
    /// twice: the peer opens every ciphertext.
    @Test func twoWritersOnOneProfileNeverReuseARatchetStep() async throws {
        let pair = try PairedProfiles()
        let protonID = try #require(pair.alex.protonID)
        let second = try ProfileStore.open(at: pair.alex.directory)
        let stores = [pair.alex.store, second]

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        let body = Array("writer \(index) message \(round)".utf8)
                        try store.transaction { tx in
                            var proton = try tx.proton(protonID)
                            let outgoing = try proton.seal(body, now: testNow, random: SystemRandom())
                            try tx.recordOutgoing(
                                protonID: protonID, updated: proton, body: body, ciphertext: outgoing.ciphertext,
                                routes: outgoing.routes, now: testNow)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }

        let sent = try pair.alex.store.outbox()
        #expect(sent.count == 20)
        #expect(try pair.alex.store.proton(protonID).messagesSent == 21)
        var opened = Set<String>()
        for item in sent { opened.insert(try pair.blair.receive(item)) }
        #expect(opened.count == 20)
        try second.close()
    }
}
