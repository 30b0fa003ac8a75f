import Foundation
import ProtonCrypto
import Testing

@testable import ProtonCore

/// The ratchet's ML-KEM steps (SimpleX's post-quantum double ratchet, one KEM in play at a
/// time): chains alternate between offering a key and answering one, a stripped or unexpected
/// KEM field is refused with nothing changed, they stay in step under loss and reordering, a
/// relationship started before them upgrades at its next DH step, and the claim itself: with
/// X25519 broken, the recorded chains after the first KEM answer stay closed.
struct HybridRatchetTests {
    // MARK: - The steps

    @Test func chainsAlternateBetweenOfferingAndAnswering() throws {
        var pair = try RatchetPair(seed: "kem alternation")
        #expect(pair.alice.kemKey != nil && pair.alice.sendingKEMCiphertext == nil, "the initiator's first chain offers")
        #expect(!pair.alice.requiresKEM && !pair.bob.requiresKEM, "nothing required before the first field")
        let a0 = try pair.aliceSeals("a0")
        #expect(a0[1] == DoubleRatchet.hybridMessageVersion)
        #expect(try pair.bobOpens(a0) == "a0")
        #expect(pair.bob.sendingKEMCiphertext != nil && pair.bob.kemKey == nil, "the answer, and no offer")
        let offered = try #require(pair.alice.kemKey)
        let answer = try #require(pair.bob.sendingKEMCiphertext)
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        #expect(pair.alice.requiresKEM)
        // Alice used her key on Bob's answer and offers a fresh one in her next chain.
        let next = try #require(pair.alice.kemKey)
        #expect(next.publicKey != offered.publicKey && pair.alice.sendingKEMCiphertext == nil)
        #expect(try pair.bobOpens(try pair.aliceSeals("a1")) == "a1")
        #expect(try #require(pair.bob.sendingKEMCiphertext) != answer)
        // Both derived the same secret: every later message still opens, both ways.
        for round in 0..<4 {
            #expect(try pair.aliceOpens(try pair.bobSeals("b\(round)")) == "b\(round)")
            #expect(try pair.bobOpens(try pair.aliceSeals("a\(round)")) == "a\(round)")
        }
    }

    /// N = 1: every chain after the first both answers and offers (2,272 bytes of fields, so a
    /// short message takes the 4,096 bucket).
    @Test func offeringAtEveryStepCarriesBothFields() throws {
        var pair = try RatchetPair(seed: "kem every step", offersEveryStep: true)
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(pair.bob.sendingKEMCiphertext != nil && pair.bob.kemKey != nil)
        let b0 = try pair.bobSeals("b0")
        #expect(b0.count == DoubleRatchet.ciphertextByteCount(bucket: 4096))
        #expect(try pair.aliceOpens(b0) == "b0")
        // A side at N = 2 reads a side at N = 1 and the other way round: each reads the fields.
        var mixed = try RatchetPair(seed: "kem mixed policies", bobOffersEveryStep: true)
        for round in 0..<5 {
            #expect(try mixed.bobOpens(try mixed.aliceSeals("a\(round)")) == "a\(round)")
            #expect(try mixed.aliceOpens(try mixed.bobSeals("b\(round)")) == "b\(round)")
        }
    }

    // MARK: - Refusals, with nothing changed

    /// A classical chain where a KEM field is due: any, once the peer has sent one (here set by
    /// hand on a responder), an answer after our offer, and an offer from the side that offers.
    /// Each is what a peer that cannot do KEM steps sends, or what taking them out would need
    /// (the header authenticates them, so no one else can).
    @Test func aChainWithoutTheDueKEMFieldIsRefused() throws {
        var classical = try RatchetPair(seed: "kem stripped start", classical: true)
        var strict = classical.bob
        strict.requiresKEM = true
        let first = try classical.aliceSeals("no offer")
        #expect(first[1] == DoubleRatchet.messageVersion)
        let before = RatchetSnapshot(strict)
        #expect(throws: RatchetError.postQuantumStepMissing) {
            try strict.decrypt(first, associatedData: classical.associatedData, now: testNow, random: classical.random)
        }
        #expect(RatchetSnapshot(strict) == before)

        // Our offer unanswered: Bob's next chain with the answer taken out of his state.
        var pair = try RatchetPair(seed: "kem unanswered")
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        pair.bob.sendingKEMCiphertext = nil
        pair.bob.kemKey = nil
        let unanswered = try pair.bobSeals("b0")
        #expect(unanswered[1] == DoubleRatchet.messageVersion)
        let aliceBefore = RatchetSnapshot(pair.alice)
        #expect(throws: RatchetError.postQuantumStepMissing) { try pair.aliceOpens(unanswered) }
        #expect(RatchetSnapshot(pair.alice) == aliceBefore)

        // Once hybrid, a chain with no field at all, though Bob (who answers) has no offer
        // outstanding: Alice's next chain with its offer taken out.
        var hybrid = try RatchetPair(seed: "kem downgraded")
        #expect(try hybrid.bobOpens(try hybrid.aliceSeals("a0")) == "a0")
        #expect(try hybrid.aliceOpens(try hybrid.bobSeals("b0")) == "b0")
        #expect(hybrid.bob.kemKey == nil && hybrid.bob.requiresKEM)
        hybrid.alice.kemKey = nil
        let stripped = try hybrid.aliceSeals("a1")
        let bobBefore = RatchetSnapshot(hybrid.bob)
        #expect(throws: RatchetError.postQuantumStepMissing) { try hybrid.bobOpens(stripped) }
        #expect(RatchetSnapshot(hybrid.bob) == bobBefore)
    }

    @Test func anAnswerToNoOfferIsRefused() throws {
        var pair = try RatchetPair(seed: "kem unexpected answer")
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        // Alice's next chain offers; give it an answer as well, to a key Bob never offered.
        pair.alice.sendingKEMCiphertext = MLKEM.PrivateKey(using: pair.random).publicKey.encapsulate().ciphertext
        let message = try pair.aliceSeals("a1")
        let before = RatchetSnapshot(pair.bob)
        #expect(throws: RatchetError.unexpectedKEMCiphertext) { try pair.bobOpens(message) }
        #expect(RatchetSnapshot(pair.bob) == before)
    }

    /// Every byte of the KEM fields is under the header's AEAD: a flipped bit of the offered key
    /// or of the answer opens no header. An answer re-encrypted by the sender's own key to
    /// another encapsulation (what a tampered ciphertext amounts to after FIPS 203's implicit
    /// rejection) gives another secret, and the body fails.
    @Test func tamperedKEMFieldsAreRefusedWithNothingChanged() throws {
        var pair = try RatchetPair(seed: "kem tampered fields")
        let a0 = try pair.aliceSeals("a0")
        let offerLayout = DoubleRatchet.layout(of: a0, kemByteCount: MLKEM.publicKeyByteCount)
        for offset in [offerLayout.header.lowerBound + 24 + 40, offerLayout.header.lowerBound + 24 + 40 + 600, offerLayout.header.upperBound - 17] {
            let before = RatchetSnapshot(pair.bob)
            #expect(throws: RatchetError.undecryptableHeader, "offer byte \(offset)") { try pair.bobOpens(a0.flipping(byte: offset)) }
            #expect(RatchetSnapshot(pair.bob) == before)
        }
        #expect(try pair.bobOpens(a0) == "a0")
        var forger = pair.bob
        let b0 = try pair.bobSeals("b0")
        let answerLayout = DoubleRatchet.layout(of: b0, kemByteCount: MLKEM.ciphertextByteCount)
        for offset in [answerLayout.header.lowerBound + 24 + 40, answerLayout.header.upperBound - 17] {
            let before = RatchetSnapshot(pair.alice)
            #expect(throws: RatchetError.undecryptableHeader, "answer byte \(offset)") { try pair.aliceOpens(b0.flipping(byte: offset)) }
            #expect(RatchetSnapshot(pair.alice) == before)
        }
        // Bob's message sealed again with another ciphertext (to Alice's real key) in place of
        // his answer, under his real header and message keys: the header opens, Alice's secret
        // differs, so her chain does, and the body does not authenticate.
        forger.sendingKEMCiphertext = try #require(pair.alice.kemKey).publicKey.encapsulate().ciphertext
        let forged = try forger.encrypt(Array("b0".utf8), associatedData: pair.associatedData, random: pair.random)
        let before = RatchetSnapshot(pair.alice)
        #expect(throws: RatchetError.authenticationFailure) { try pair.aliceOpens(forged) }
        #expect(RatchetSnapshot(pair.alice) == before)
        #expect(try pair.aliceOpens(b0) == "b0")
    }

    // MARK: - Loss and reordering

    /// Thousands of messages both ways, sent in random turns, delivered in random order, some
    /// never: every delivered one opens, so both sides agreed on every KEM secret they mixed.
    @Test(arguments: [false, true])
    func kemStepsStayInStepUnderLossAndReordering(offersEveryStep: Bool) throws {
        var pair = try RatchetPair(seed: "kem chaos \(offersEveryStep)", offersEveryStep: offersEveryStep)
        let schedule = DeterministicRandom(seed: "kem chaos schedule \(offersEveryStep)")
        func roll(_ bound: Int) -> Int { Int(schedule.bytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % UInt32(bound)) }
        var inFlight: [(toBob: Bool, text: String, message: [UInt8])] = []
        var sent = 0
        var delivered = 0
        var dropped = 0
        var answers = Set<[UInt8]>()
        var refusals: [String] = []
        func deliver(_ index: Int) {
            let item = inFlight.remove(at: index)
            do throws(RatchetError) {
                let opened = item.toBob ? try pair.bobOpens(item.message) : try pair.aliceOpens(item.message)
                if opened != item.text { refusals.append("\(item.text) opened as \(opened)") }
                delivered += 1
            } catch {
                refusals.append("\(item.text): \(error)")
            }
        }
        while sent < 3_000 {
            switch roll(100) {
            case 0..<22:
                inFlight.append((true, "a\(sent)", try pair.aliceSeals("a\(sent)")))
                sent += 1
            case 22..<44 where pair.bob.canSend:
                inFlight.append((false, "b\(sent)", try pair.bobSeals("b\(sent)")))
                sent += 1
            case 44..<96 where !inFlight.isEmpty:
                deliver(roll(inFlight.count))
            case 96..<100 where !inFlight.isEmpty:
                inFlight.remove(at: roll(inFlight.count))
                dropped += 1
            default:
                break
            }
            for ciphertext in [pair.alice.sendingKEMCiphertext, pair.bob.sendingKEMCiphertext] {
                if let ciphertext { answers.insert(ciphertext) }
            }
        }
        while !inFlight.isEmpty { deliver(roll(inFlight.count)) }
        #expect(refusals.isEmpty, "\(refusals.prefix(5))")
        #expect(delivered + dropped == sent)
        #expect(dropped > 50)
        // Each distinct answer is one KEM secret both sides mixed in.
        #expect(answers.count > 100, "\(answers.count) KEM steps")
    }

    // MARK: - Upgrade

    /// A relationship whose states were stored before KEM steps (ratchet state version 3, no
    /// KEM state) keeps working, and its chains carry KEM fields from the next DH step on:
    /// the side that steps first offers, the other answers, and from then on both require them.
    @Test func aRelationshipFromBeforeKEMStepsUpgradesAtItsNextStep() throws {
        var pair = try RatchetPair(seed: "kem upgrade", classical: true)
        #expect(try pair.bobOpens(try pair.aliceSeals("a0")) == "a0")
        #expect(try pair.aliceOpens(try pair.bobSeals("b0")) == "b0")
        let a1 = try pair.aliceSeals("a1")
        #expect(a1[1] == DoubleRatchet.hybridMessageVersion, "Alice's first chain after a step answers Bob's offer")
        #expect(try pair.bobOpens(a1) == "a1")

        // Stored by the earlier version: reloaded from version 3 states.
        var old = try RatchetPair(seed: "kem upgrade stored", classical: true)
        #expect(try old.bobOpens(try old.aliceSeals("a0")) == "a0")
        let bobEarly = try old.bobSeals("b0, in a classical chain")
        #expect(bobEarly[1] == DoubleRatchet.hybridMessageVersion, "this version offers at its first step")
        old.alice = try DoubleRatchet(serializedState: SecureBytes(old.alice.versionThreeState()), skippedKeys: [])
        #expect(old.alice.kemKey == nil && !old.alice.requiresKEM)
        #expect(try old.aliceOpens(bobEarly) == "b0, in a classical chain")
        #expect(old.alice.requiresKEM && old.alice.sendingKEMCiphertext != nil, "Alice answers Bob's offer")
        let answer = try old.aliceSeals("a1")
        #expect(try old.bobOpens(answer) == "a1")
        #expect(old.bob.requiresKEM)
        for round in 0..<3 {
            #expect(try old.aliceOpens(try old.bobSeals("b\(round)")) == "b\(round)")
            #expect(try old.bobOpens(try old.aliceSeals("a\(round)")) == "a\(round)")
        }
        // Stored and reloaded as version 4, the KEM state survives.
        let stored = try DoubleRatchet(serializedState: old.bob.serializedState(), skippedKeys: old.bob.skippedKeys.entries)
        #expect(stored.requiresKEM && stored.kemKey?.publicKey == old.bob.kemKey?.publicKey)
        #expect(stored.sendingKEMCiphertext == old.bob.sendingKEMCiphertext)
    }

    // MARK: - The claim

    enum Event {
        case aliceSends(String)
        case bobSends(String)
    }

    /// Ping-pong turns, two messages each, every one delivered at once.
    static let script: [Event] = (0..<4).flatMap { turn -> [Event] in
        [.aliceSends("a\(turn).0"), .aliceSends("a\(turn).1"), .bobSends("b\(turn).0"), .bobSends("b\(turn).1")]
    }

    final class EncapsulationLog: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [MLKEM.Encapsulation] = []
        private var replayed = 0

        func record(_ key: [UInt8]) -> MLKEM.Encapsulation {
            let fresh = try! MLKEM.encapsulate(toKey: key)
            lock.withLock { entries.append(fresh) }
            return fresh
        }

        func replay(_ key: [UInt8]) -> MLKEM.Encapsulation {
            lock.withLock {
                defer { replayed += 1 }
                return entries[replayed]
            }
        }
    }

    /// Runs the script on `pair`, opening the `recorded` messages (the real exchange's) instead
    /// of its own when given; returns each message sent and which of them opened.
    static func run(_ pair: inout RatchetPair, recorded: [[UInt8]]? = nil) throws -> (messages: [[UInt8]], opened: [String]) {
        var messages: [[UInt8]] = []
        var opened: [String] = []
        for (index, event) in script.enumerated() {
            let (text, fromAlice) = switch event {
            case .aliceSends(let text): (text, true)
            case .bobSends(let text): (text, false)
            }
            let own = fromAlice ? try pair.aliceSeals(text) : try pair.bobSeals(text)
            messages.append(own)
            let arriving = recorded?[index] ?? own
            let read = fromAlice ? try? pair.bobOpens(arriving) : try? pair.aliceOpens(arriving)
            if read == text { opened.append(text) }
        }
        return (messages, opened)
    }

    /// The claim, for a start without a KEM secret (an invite's): with every X25519 private
    /// key disclosed, a recorder reads the initiator's first chain and nothing from the
    /// responder's first chain (the first KEM answer) on. The recorder is the same two ratchets
    /// on the parties' own generator (so every X25519 key is theirs), without their ML-KEM seeds
    /// or encapsulation secrets. The control: given the encapsulations (and seeds), it reads
    /// everything, so only the KEM secrets kept it out.
    @Test(arguments: [false, true])
    func withTheCurveBrokenOnlyTheChainsBeforeTheFirstAnswerOpen(classicalStart: Bool) throws {
        let seed = "broken curve ratchet \(classicalStart)"
        let log = EncapsulationLog()
        var real = try RatchetPair(seed: seed, classical: classicalStart)
        let recorded = try DoubleRatchet.$encapsulationReplay.withValue({ log.record($0) }) { try Self.run(&real) }
        #expect(recorded.opened.count == Self.script.count, "the parties read everything")

        var recorder = try RatchetPair(seed: seed, classical: classicalStart, blind: true)
        let attempt = try Self.run(&recorder, recorded: recorded.messages)
        // A start from this version: the first chain offers, Bob's first chain answers. A start
        // from before KEM steps: its classical chains, then Bob's first chain offers (an
        // upgrade) and Alice's next chain answers.
        let readable = classicalStart ? ["a0.0", "a0.1", "b0.0", "b0.1"] : ["a0.0", "a0.1"]
        #expect(attempt.opened == readable)

        var control = try RatchetPair(seed: seed, classical: classicalStart)
        let replayed = try DoubleRatchet.$encapsulationReplay.withValue({ log.replay($0) }) {
            try Self.run(&control, recorded: recorded.messages)
        }
        #expect(replayed.opened.count == Self.script.count)
    }
}
