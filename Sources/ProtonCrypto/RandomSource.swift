import CSodium
import Foundation

/// Where randomness comes from. ProtonCore never reaches for randomness of its own: it is
/// handed a `RandomSource`, so every state transition can be replayed in a test.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's CSPRNG, through libsodium's `randombytes_buf`.
public struct SystemRandom: RandomSource {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.mutableBytePointer, $0.count) }
        return out
    }
}

/// A reproducible stream for tests, demos and test vectors: block *i* is
/// `randombytes_buf_deterministic` keyed by BLAKE2b(seed, i). Never use it for real keys.
public final class DeterministicRandom: RandomSource, @unchecked Sendable {
    private let seed: [UInt8]
    private var counter: UInt64 = 0
    private let lock = NSLock()

    public init(seed: [UInt8]) {
        Sodium.ensureInitialized()
        self.seed = seed
    }

    public convenience init(seed: String) {
        self.init(seed: Array(seed.utf8))
    }

    public func bytes(_ count: Int) -> [UInt8] {
        let index: UInt64 = lock.withLock {
            counter += 1
            return counter
        }
        var blockSeed = [UInt8](repeating: 0, count: Int(randombytes_seedbytes()))
        var input = seed
        withUnsafeBytes(of: index.bigEndian) { input.append(contentsOf: $0) }
        _ = crypto_generichash(&blockSeed, blockSeed.count, input, UInt64(input.count), nil, 0)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf_deterministic($0.mutableBytePointer, $0.count, blockSeed) }
        return out
    }
}
