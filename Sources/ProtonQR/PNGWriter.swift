/// Writes a module grid as a PNG image (ISO/IEC 15948): 8-bit grayscale, each module a
/// `scale × scale` square, black on white. The zlib stream uses stored (uncompressed) deflate
/// blocks, so no compression library is needed; a QR code's image is small either way.
public enum PNGWriter {
    public static let maximumScale = 64
    public static let maximumSide = 16_384

    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        case invalidScale(Int)
        case tooLarge(side: Int)

        public var description: String {
            switch self {
            case .invalidScale(let scale): "the scale must be between 1 and \(PNGWriter.maximumScale), not \(scale)"
            case .tooLarge(let side): "an image \(side) pixels on a side is too large"
            }
        }
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func encode(_ grid: ModuleGrid, scale: Int = 8) throws(Error) -> [UInt8] {
        guard (1...maximumScale).contains(scale) else { throw .invalidScale(scale) }
        let width = grid.width * scale
        let height = grid.height * scale
        guard width > 0, height > 0, width <= maximumSide, height <= maximumSide else { throw .tooLarge(side: max(width, height)) }

        // Each scanline: filter type 0 (none), then one byte per pixel.
        var raw = [UInt8]()
        raw.reserveCapacity((width + 1) * height)
        for row in 0..<grid.height {
            var line = [UInt8]()
            line.reserveCapacity(width + 1)
            line.append(0)
            for column in 0..<grid.width {
                line.append(contentsOf: repeatElement(grid[row, column] ? 0x00 : 0xFF, count: scale))
            }
            for _ in 0..<scale { raw.append(contentsOf: line) }
        }

        var header = [UInt8]()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 0, 0, 0, 0]  // bit depth 8, grayscale, deflate, adaptive filtering, no interlace

        var png = signature
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary, FCHECK making it a multiple of 31
        out.reserveCapacity(data.count + data.count / 65_535 * 5 + 11)
        var offset = 0
        repeat {
            let count = min(65_535, data.count - offset)
            let isFinal = offset + count == data.count
            out.append(isFinal ? 1 : 0)
            out.append(UInt8(count & 0xFF))
            out.append(UInt8(count >> 8))
            out.append(UInt8(~count & 0xFF))
            out.append(UInt8((~count >> 8) & 0xFF))
            out.append(contentsOf: data[offset..<offset + count])
            offset += count
        } while offset < data.count
        out.appendBigEndian(adler32(data))
        return out
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png.appendBigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        png.appendBigEndian(crc32(typeBytes + data))
    }

    /// CRC-32 as PNG and zlib define it (reflected polynomial 0xEDB88320).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// Adler-32 (RFC 1950 §8.2).
    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        // 5552 bytes is the most that can be summed before b may overflow 32 bits.
        var index = 0
        while index < bytes.count {
            let end = min(index + 5552, bytes.count)
            for byte in bytes[index..<end] {
                a &+= UInt32(byte)
                b &+= a
            }
            a %= 65_521
            b %= 65_521
            index = end
        }
        return b << 16 | a
    }
}

extension [UInt8] {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(value >> 24))
        append(UInt8((value >> 16) & 0xFF))
        append(UInt8((value >> 8) & 0xFF))
        append(UInt8(value & 0xFF))
    }
}
