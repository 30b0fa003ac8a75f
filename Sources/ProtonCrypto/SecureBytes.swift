import CSodium

/// Secret bytes that are zeroed when the last reference goes away.
///
/// Immutable after creation, so a value can be shared between tasks. The bytes live in one
/// heap allocation owned by this type; `withUnsafeBytes` lends them out for the duration of a
/// closure inside this module only.
public struct SecureBytes: Sendable {
    final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawBufferPointer

        init(count: Int) {
            pointer = .allocate(byteCount: max(count, 1), alignment: 16)
            if count == 0 {
                pointer[0] = 0
            }
            self.count = count
        }

        let count: Int

        deinit {
            sodium_memzero(pointer.baseAddress, pointer.count)
            pointer.deallocate()
        }
    }

    let storage: Storage

    /// Copies `bytes` into zeroing storage.
    public init<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        storage = Storage(count: bytes.count)
        var index = 0
        for byte in bytes {
            storage.pointer[index] = byte
            index += 1
        }
    }

    /// Takes `bytes` and zeroes the caller's array afterwards.
    public init(consuming bytes: inout [UInt8]) {
        self.init(bytes)
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }

    /// Fills fresh storage through `body`.
    init(count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = Storage(count: count)
        try body(UnsafeMutableRawBufferPointer(rebasing: storage.pointer[0..<count]))
    }

    public var count: Int { storage.count }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(rebasing: storage.pointer[0..<storage.count]))
    }

    /// A copy of the secret as a plain array, for serialisation into storage. The caller owns
    /// the copy and should not keep it longer than it must.
    public func unsafeExportedBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Appends the secret to `array` without an intermediate copy; with enough capacity
    /// reserved, the array's buffer is the only other place the bytes then are (the caller
    /// zeroes it).
    public func append(to array: inout [UInt8]) {
        withUnsafeBytes { array.append(contentsOf: $0) }
    }

    /// `prefix` followed by each of `parts`, in zeroing storage, without plain copies.
    public init(prefix: [UInt8], concatenating parts: [SecureBytes]) {
        self.init(count: prefix.count + parts.reduce(0) { $0 + $1.count }) { out in
            var offset = 0
            prefix.withUnsafeBytes { source in
                if source.count > 0 { (out.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: source.count) }
                offset += source.count
            }
            for part in parts {
                part.withUnsafeBytes { source in
                    if source.count > 0 { (out.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: source.count) }
                    offset += source.count
                }
            }
        }
    }

    /// Constant-time comparison.
    public func isEqual(to other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { lhs in
            other.withUnsafeBytes { rhs in
                sodium_memcmp(lhs.baseAddress, rhs.baseAddress, lhs.count) == 0
            }
        }
    }
}

extension SecureBytes: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
}
