import ProtonBluetooth
import ProtonPairing

extension CommandFailure {
    /// A Bluetooth failure as one sentence: 69 when the kernel, the adapter or the other device is
    /// not available; 64 for a bad address or channel; 77 for a missing privilege.
    init(bluetooth error: BluetoothError) {
        let status: ExitStatus
        switch error {
        case .invalidAddress, .invalidChannel: status = .usage
        case .permissionDenied: status = .noPermission
        default: status = .unavailable
        }
        // What to do about it, in this tool's words (the library's sentence says what is wrong).
        let advice: String? =
            switch error {
            case .unsupported: "Use 'proton invite' instead."
            case .channelInUse: "Choose another with --channel."
            case .connectionRefused: "Start 'proton pair --listen' on that device first."
            case .serviceNotFound: "Start 'proton pair --listen' there, or name the channel with --channel."
            default: nil
            }
        self.init(status: status, message: error.description + (advice.map { " " + $0 } ?? ""))
    }

    /// A pairing that stopped: nothing was stored. 65 when the numbers were not confirmed or the
    /// exchange did not check out (possible interception); 69 when the other device went away.
    init(pairing error: PairingError) {
        let status: ExitStatus
        switch error {
        case .timeout, .peerClosed, .peerAborted, .io, .truncated: status = .unavailable
        case .noRoutes: status = .software
        default: status = .dataError
        }
        self.init(status: status, message: "Pairing stopped: \(error.description). Nothing was stored.".sentence)
    }
}
