/// ISO/IEC 7816-4 padding, the scheme of libsodium's `sodium_pad`: a 0x80 byte, then zeros, up
/// to the block size.
///
/// Written here rather than calling `sodium_pad`/`sodium_unpad`, whose constant-time loops cost a
/// third of a ratchet message (measured with perf). Constant time buys nothing at this layer:
/// the ratchet unpads only plaintext that has already authenticated, so there is no padding
/// oracle to hide.
public enum Padding {
    public enum Error: Swift.Error, Equatable, Sendable {
        case invalidPadding
    }

    /// Pads `data` to exactly `blockSize` bytes. `data.count` must be below `blockSize`.
    public static func pad(_ data: [UInt8], toBlockSize blockSize: Int) -> [UInt8] {
        precondition(data.count < blockSize, "data must leave room for the padding marker")
        var buffer = [UInt8]()
        buffer.reserveCapacity(blockSize)
        buffer.append(contentsOf: data)
        buffer.append(0x80)
        buffer.append(contentsOf: repeatElement(0, count: blockSize - data.count - 1))
        return buffer
    }

    /// Removes the padding of an authenticated plaintext of a whole number of blocks.
    public static func unpad(_ padded: [UInt8], blockSize: Int) throws(Error) -> [UInt8] {
        guard !padded.isEmpty, blockSize > 0, padded.count % blockSize == 0 else { throw .invalidPadding }
        guard let marker = padded.lastIndex(where: { $0 != 0 }), padded[marker] == 0x80,
            padded.count - marker <= blockSize
        else { throw .invalidPadding }
        return Array(padded[..<marker])
    }
}
