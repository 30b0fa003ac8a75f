/// A framed, reliable byte stream between the two devices: a socket pair in tests, an RFCOMM
/// socket between laptops. The pairing protocol sees only frames, so it runs unchanged over any
/// transport that can carry them.
public protocol PairingChannel: Sendable {
    /// Sends one frame, or throws `oversized` for a payload over the channel's limit.
    func send(_ frame: PairingFrame) async throws(PairingError)

    /// Waits for the next frame for at most the channel's per-frame timeout, or `timeout` when
    /// given (a person comparing numbers needs longer than a machine answering).
    func receive(timeout: Duration?) async throws(PairingError) -> PairingFrame
}

extension PairingChannel {
    public func receive() async throws(PairingError) -> PairingFrame {
        try await receive(timeout: nil)
    }
}
