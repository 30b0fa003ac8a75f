extension PairingChannel {
    /// Receives the next frame and insists on its kind: the protocol is lock-step, so anything
    /// else is a protocol violation, except an abort, which ends the pairing as the peer asked.
    func receive(_ expected: PairingFrame.Kind, timeout: Duration? = nil) async throws(PairingError) -> [UInt8] {
        let frame = try await receive(timeout: timeout)
        guard frame.kindByte == expected.rawValue else {
            if frame.kind == .abort { throw .peerAborted }
            throw .unexpectedFrame(expected: expected, actual: frame.kindByte)
        }
        return frame.payload
    }
}
