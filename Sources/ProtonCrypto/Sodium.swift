import CSodium

/// libsodium must be initialised once before any other call; every entry point of this module
/// goes through `Sodium.ensureInitialized()`.
enum Sodium {
    private static let initialized: Bool = {
        sodium_init() >= 0
    }()

    @inline(__always)
    static func ensureInitialized() {
        precondition(initialized, "libsodium failed to initialise")
    }
}

/// libsodium wants a non-null pointer even for zero-length inputs; empty Swift buffers have none.
nonisolated(unsafe) private let emptyByte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

extension UnsafeRawBufferPointer {
    var bytePointer: UnsafePointer<UInt8> {
        baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(emptyByte)
    }
}

extension UnsafeMutableRawBufferPointer {
    var mutableBytePointer: UnsafeMutablePointer<UInt8> {
        baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? emptyByte
    }
}
