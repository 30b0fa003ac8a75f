import Foundation
import ProtonCore
import ProtonCrypto
import Testing

@testable import ProtonPairing

#if canImport(Glibc)
import Glibc
#endif

/// The fixed clock of every test: 2027-01-15T08:00:00Z.
let testNow = Date(timeIntervalSince1970: 1_800_000_000)

/// Both ends of a connected AF_UNIX stream socket pair. Closed only by `close()`, after every
/// reader of them has finished, so a descriptor number is never reused under a running read.
struct SocketPair: Sendable {
    let first: Int32
    let second: Int32

    init() {
        var fds: [Int32] = [0, 0]
        let status = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        precondition(status == 0, "socketpair failed")
        first = fds[0]
        second = fds[1]
    }

    /// Ends the connection and wakes any poll on either end (close alone would not); the
    /// descriptors stay allocated until `close()`, so no reader ever sees a reused number.
    func shutDown() {
        _ = shutdown(first, Int32(SHUT_RDWR))
        _ = shutdown(second, Int32(SHUT_RDWR))
    }

    func close() {
        shutDown()
        _ = Glibc.close(first)
        _ = Glibc.close(second)
    }
}

/// A person with a persona and fresh routes for one pairing.
struct Party {
    let pairing: Pairing

    init(name: String, attestation: [UInt8]? = nil) throws {
        let persona = try Persona(displayName: name, random: SystemRandom())
        let routes = try (0..<2).map { index in
            OwnRoute(
                route: try Route(
                    serviceURI: "https://mail\(index).\(name.lowercased()).example",
                    serviceKey: SealedBox.PrivateKey().publicKey, address: AddressID(random: SystemRandom())),
                authKey: Ed25519.PrivateKey(), issuedAt: testNow)
        }
        var pairing = Pairing(persona: persona, routes: routes, attestation: attestation)
        pairing.confirmationTimeout = .seconds(3)
        self.pairing = pairing
    }

    var firstAddress: AddressID { pairing.routes[0].address }
}

/// What two people do with the numbers: each looks at both screens and says whether they match.
actor SASBoard {
    private var shown: [String] = []
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func compare(_ sas: String) async -> Bool {
        shown.append(sas)
        if shown.count == 2 {
            waiting.forEach { $0.resume() }
            waiting.removeAll()
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        return shown[0] == shown[1]
    }

    var numbers: [String] { shown }
}

typealias Outcome = Result<PairingResult, PairingError>

func outcome(_ body: () async throws(PairingError) -> PairingResult) async -> Outcome {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// Runs both sides at once over the given channels.
func runPairing(
    initiator: Pairing, over initiatorChannel: some PairingChannel, responder: Pairing,
    over responderChannel: some PairingChannel, confirmInitiator: @escaping Pairing.Confirm,
    confirmResponder: @escaping Pairing.Confirm
) async -> (initiator: Outcome, responder: Outcome) {
    async let initiated = outcome { () async throws(PairingError) in
        try await initiator.initiate(over: initiatorChannel, now: testNow, confirm: confirmInitiator)
    }
    async let responded = outcome { () async throws(PairingError) in
        try await responder.respond(over: responderChannel, now: testNow, confirm: confirmResponder)
    }
    return await (initiated, responded)
}

extension Outcome {
    var error: PairingError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
