import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

/// Frames in each direction, by index:
/// to the responder: 0 commitment, 1 handshake 1, 2 handshake 3, 3 initiator nonce,
///   4 confirmation, 5 initiator keys, 6 initiator finish;
/// to the initiator: 0 handshake 2, 1 responder nonce, 2 confirmation, 3 responder keys,
///   4 responder finish.
/// The initiator's finish is the last frame and not in the table: once it is sent the
/// initiator is done, and only the responder can notice its loss.
struct FaultCase: Sendable, CustomTestStringConvertible {
    let fault: Fault
    let direction: Direction
    let frameIndex: Int
    /// What the side that received the damaged frame must report.
    let expected: @Sendable (PairingError) -> Bool

    var testDescription: String { "\(fault) frame \(frameIndex) \(direction)" }
}

private let faultCases: [FaultCase] = [
    FaultCase(fault: .truncate, direction: .toResponder, frameIndex: 0) { $0 == .truncated },
    FaultCase(fault: .truncate, direction: .toInitiator, frameIndex: 0) { $0 == .truncated },
    FaultCase(fault: .truncate, direction: .toResponder, frameIndex: 5) { $0 == .truncated },
    FaultCase(fault: .truncate, direction: .toInitiator, frameIndex: 4) { $0 == .truncated },
    FaultCase(fault: .oversize, direction: .toResponder, frameIndex: 1) { $0 == .oversized(limit: 16384, actual: 65535) },
    FaultCase(fault: .oversize, direction: .toInitiator, frameIndex: 3) { $0 == .oversized(limit: 16384, actual: 65535) },
    FaultCase(fault: .garbage, direction: .toResponder, frameIndex: 2) { if case .unexpectedFrame = $0 { true } else { false } },
    FaultCase(fault: .garbage, direction: .toInitiator, frameIndex: 1) { if case .unexpectedFrame = $0 { true } else { false } },
    FaultCase(fault: .tamper, direction: .toInitiator, frameIndex: 0) { $0 == .authenticationFailed },
    FaultCase(fault: .tamper, direction: .toResponder, frameIndex: 3) { $0 == .authenticationFailed },
    FaultCase(fault: .tamper, direction: .toResponder, frameIndex: 5) { $0 == .authenticationFailed },
    FaultCase(fault: .tamper, direction: .toInitiator, frameIndex: 4) { $0 == .authenticationFailed },
    FaultCase(fault: .silence, direction: .toResponder, frameIndex: 1) { $0 == .timeout },
    // Both sides wait with the same 3-second limit here (the initiator for this confirmation,
    // the responder for the initiator's keys, a few milliseconds later): on a loaded machine the
    // responder's wait can end first, and its abort then reaches the initiator.
    FaultCase(fault: .silence, direction: .toInitiator, frameIndex: 2) { $0 == .timeout || $0 == .peerAborted },
    FaultCase(fault: .vanish, direction: .toResponder, frameIndex: 3) { $0 == .peerClosed },
    FaultCase(fault: .vanish, direction: .toInitiator, frameIndex: 3) { $0 == .peerClosed },
]

@Suite struct FaultTests {
    @Test(arguments: faultCases)
    func damagedLinkAbortsBothSidesWithATypedError(_ testCase: FaultCase) async throws {
        let link = FaultyLink(fault: testCase.fault, direction: testCase.direction, frameIndex: testCase.frameIndex)
        let relay = Task { await link.run() }
        var alex = try Party(name: "Alex").pairing
        var blair = try Party(name: "Blair").pairing
        // Short only where the fault is silence and a timeout is the expected outcome; elsewhere
        // generous, so that a loaded machine cannot turn the expected error into a timeout.
        let timeout: Duration = testCase.fault == .silence ? .seconds(3) : .seconds(60)
        alex.confirmationTimeout = timeout
        blair.confirmationTimeout = timeout
        let (initiated, responded) = await runPairing(
            initiator: alex, over: FileDescriptorChannel(fileDescriptor: link.initiatorEnd, timeout: timeout),
            responder: blair, over: FileDescriptorChannel(fileDescriptor: link.responderEnd, timeout: timeout),
            confirmInitiator: { _ in true }, confirmResponder: { _ in true })
        link.shutDown()
        await relay.value
        link.close()

        let (victim, other) = testCase.direction == .toResponder ? (responded, initiated) : (initiated, responded)
        let victimError = try #require(victim.error, "the side that received the damaged frame must fail")
        #expect(testCase.expected(victimError), "got \(victimError)")
        #expect(other.error != nil, "the other side must fail too, and return nothing")
    }
}
