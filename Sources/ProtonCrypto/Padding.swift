import CSodium

/// ISO/IEC 7816-4 padding (`sodium_pad` / `sodium_unpad`): a 0x80 byte, then zeros, up to a
/// multiple of the block size. Unpadding runs in constant time for a given length.
public enum Padding {
    public enum Error: Swift.Error, Equatable, Sendable {
        case invalidPadding
    }

    /// Pads `data` to exactly `blockSize` bytes. `data.count` must be below `blockSize`.
    public static func pad(_ data: [UInt8], toBlockSize blockSize: Int) -> [UInt8] {
        Sodium.ensureInitialized()
        precondition(data.count < blockSize, "data must leave room for the padding marker")
        var buffer = data + [UInt8](repeating: 0, count: blockSize - data.count)
        var paddedLength = 0
        let status = buffer.withUnsafeMutableBytes { raw in
            sodium_pad(&paddedLength, raw.mutableBytePointer, data.count, blockSize, blockSize)
        }
        precondition(status == 0 && paddedLength == blockSize)
        return buffer
    }

    public static func unpad(_ padded: [UInt8], blockSize: Int) throws -> [UInt8] {
        Sodium.ensureInitialized()
        guard !padded.isEmpty, padded.count % blockSize == 0 else { throw Error.invalidPadding }
        var unpaddedLength = 0
        let status = padded.withUnsafeBytes { raw in
            sodium_unpad(&unpaddedLength, raw.bytePointer, padded.count, blockSize)
        }
        guard status == 0 else { throw Error.invalidPadding }
        return Array(padded[0..<unpaddedLength])
    }
}
