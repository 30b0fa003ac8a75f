/// The pairing channel after the handshake: every frame's payload is encrypted with Noise's
/// transport CipherStates (section 5.2 Split), with the frame's kind byte as associated data so
/// a frame cannot be replayed as another kind. The counters make reordering, replay and
/// dropping detectable: any of them fails authentication.
struct SecureChannel {
    let channel: any PairingChannel
    private var sending: CipherState
    private var receiving: CipherState

    init(channel: any PairingChannel, sending: CipherState, receiving: CipherState) {
        self.channel = channel
        self.sending = sending
        self.receiving = receiving
    }

    mutating func send(_ kind: PairingFrame.Kind, _ plaintext: [UInt8]) async throws(PairingError) {
        let ciphertext = try sending.encrypt(associatedData: [kind.rawValue], plaintext: plaintext)
        try await channel.send(PairingFrame(kind, payload: ciphertext))
    }

    mutating func receive(_ kind: PairingFrame.Kind, timeout: Duration? = nil) async throws(PairingError) -> [UInt8] {
        let ciphertext = try await channel.receive(kind, timeout: timeout)
        return try receiving.decrypt(associatedData: [kind.rawValue], ciphertext: ciphertext)
    }
}
