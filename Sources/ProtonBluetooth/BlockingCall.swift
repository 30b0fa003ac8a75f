import Dispatch

/// Runs blocking C calls (accept, connect's poll, SDP, inquiry) off Swift's cooperative thread
/// pool, which has only as many threads as cores: one blocked there would stall every task.
enum BlockingCall {
    static func run<T: Sendable>(
        label: String, _ body: @escaping @Sendable () throws(BluetoothError) -> T
    ) async throws(BluetoothError) -> T {
        let result: Result<T, BluetoothError> = await withCheckedContinuation { continuation in
            DispatchQueue(label: "ProtonBluetooth.\(label)").async {
                continuation.resume(returning: Result { () throws(BluetoothError) -> T in try body() })
            }
        }
        return try result.get()
    }
}
