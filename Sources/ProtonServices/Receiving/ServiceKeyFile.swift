import Foundation
import ProtonCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The receiving service's X25519 key, kept in `DIR/service-key` (32 raw bytes, mode 0600).
/// It must survive restarts: every sealed address in flight and every route a client holds is
/// sealed to it.
enum ServiceKeyFile {
    static let fileName = "service-key"
    static let byteCount = 32

    static func loadOrCreate(in directory: URL) throws -> SealedBox.PrivateKey {
        try DataDirectory.prepare(directory)
        let path = directory.appendingPathComponent(fileName).path
        if FileManager.default.fileExists(atPath: path) { return try load(path) }
        let key = SealedBox.PrivateKey()
        try store(key, at: path)
        return key
    }

    private static func load(_ path: String) throws -> SealedBox.PrivateKey {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count == byteCount else {
            throw DataDirectoryError(path: path, reason: "the service key must be \(byteCount) bytes")
        }
        return try SealedBox.PrivateKey(secretBytes: SecureBytes(consuming: &bytes))
    }

    /// O_EXCL: two services started on one directory at once must not each write a key.
    private static func store(_ key: SealedBox.PrivateKey, at path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw DataDirectoryError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes = key.secretBytes.unsafeExportedBytes()
        defer { for index in bytes.indices { bytes[index] = 0 } }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw DataDirectoryError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
