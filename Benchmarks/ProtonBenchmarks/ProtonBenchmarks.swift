import Benchmark
import CSodium
import ProtonCore
import ProtonCrypto

// One executable, one run: every benchmark below is measured in the same `swift package
// benchmark` invocation on the same machine, so their rates can be divided by one another.
//
// Rates are reported by the harness's `throughput` metric (samples per second, times the
// scaling factor: with `.kilo` each sample is 1,000 operations and the column is in K ops/s).
// The throughput unit is pinned (`units: [.throughput: .count]`) so the harness does not round
// e.g. 65,432 samples/s down to "65 K".

let messageByteCount = 1024
let plaintext = SystemRandom().bytes(messageByteCount)
/// What a session would authenticate alongside each message (both identity keys, as X3DH's AD).
let associatedData = SystemRandom().bytes(64)

/// A budget per benchmark that keeps the whole `make bench` run within a few minutes on two
/// cores: each stops at whichever of the two limits it reaches first.
func configuration(_ scalingFactor: BenchmarkScalingFactor, maxIterations: Int) -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .wallClock],
        units: [.throughput: .count],
        warmupIterations: 10,
        scalingFactor: scalingFactor,
        maxDuration: .seconds(8),
        maxIterations: maxIterations
    )
}

/// Shared, mutable benchmark state. Each benchmark runs on one thread at a time.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

let benchmarks: @Sendable () -> Void = {
    // MARK: Services on loopback (Services.swift)

    registerServiceBenchmarks()
    registerDirectoryBenchmarks()
    registerWitnessBenchmarks()
    registerPairingBenchmarks()
    registerStartBenchmarks()
    registerQRBenchmarks()

    // MARK: libolm, the baseline

    let olmSameChain = Box<OlmBench.Pair?>(nil)
    Benchmark(
        "libolm same-chain 1 KiB (encrypt+decrypt)",
        configuration: configuration(.one, maxIterations: 100_000)
    ) { benchmark in
        let pair = olmSameChain.value ?? OlmBench.Pair()
        olmSameChain.value = pair
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // Alice keeps sending; Bob never replies, so every message is in Alice's current
            // sending chain: one chain-key step, no Diffie-Hellman.
            let message = pair.alice.encrypt(plaintext)
            let received = pair.bob.decrypt(message)
            precondition(received.count == messageByteCount)
            blackHole(received)
        }
    }

    let olmRoundTrip = Box<OlmBench.Pair?>(nil)
    Benchmark(
        "libolm DH round trip 1 KiB (2 encrypt+2 decrypt)",
        configuration: configuration(.one, maxIterations: 20_000)
    ) { benchmark in
        let pair = olmRoundTrip.value ?? OlmBench.Pair()
        olmRoundTrip.value = pair
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // Each change of direction starts a new sending chain: a fresh ratchet key for the
            // sender and a Diffie-Hellman ratchet step on both sides.
            let toBob = pair.alice.encrypt(plaintext)
            let atBob = pair.bob.decrypt(toBob)
            precondition(atBob.count == messageByteCount)
            let toAlice = pair.bob.encrypt(plaintext)
            let atAlice = pair.alice.decrypt(toAlice)
            precondition(atAlice.count == messageByteCount)
            blackHole(atAlice)
        }
    }

    // MARK: Proton's ratchet (ProtonCore.DoubleRatchet)

    let protonSameChain = Box<RatchetPair?>(nil)
    Benchmark(
        "Proton same-chain 1 KiB (encrypt+decrypt)",
        configuration: configuration(.one, maxIterations: 200_000)
    ) { benchmark in
        let pair = protonSameChain.value ?? RatchetPair()
        protonSameChain.value = pair
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // As for libolm: Alice keeps sending, Bob never replies.
            let received = pair.aliceToBob(plaintext)
            precondition(received.count == messageByteCount)
            blackHole(received)
        }
    }

    // What the random body nonce adds to each message (ratchet message version 2): one
    // 24-byte draw from the system's random source, next to the same-chain rate above.
    Benchmark(
        "Random 24-byte body nonce (SystemRandom)",
        configuration: configuration(.one, maxIterations: 1_000_000)
    ) { benchmark in
        let random = SystemRandom()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(random.bytes(24)) }
    }

    // The default (a KEM secret every second DH step, N = 2), and with a KEM key offered in
    // every chain by both sides (N = 1, SimpleX's pattern): what the choice of N costs in time.
    for offersEveryStep in [false, true] {
        let protonRoundTrip = Box<RatchetPair?>(nil)
        Benchmark(
            offersEveryStep
                ? "Proton DH round trip 1 KiB, KEM every step (2 encrypt+2 decrypt)" : "Proton DH round trip 1 KiB (2 encrypt+2 decrypt)",
            configuration: configuration(.one, maxIterations: 50_000)
        ) { benchmark in
            let pair = protonRoundTrip.value ?? RatchetPair(offersEveryStep: offersEveryStep)
            protonRoundTrip.value = pair
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let atBob = pair.aliceToBob(plaintext)
                precondition(atBob.count == messageByteCount)
                let atAlice = pair.bobToAlice(plaintext)
                precondition(atAlice.count == messageByteCount)
                blackHole(atAlice)
            }
        }
    }

    // MARK: Primitive floors

    // A round trip's public-key work: without KEM steps, four X25519 multiplications and two
    // key generations (each side's new ratchet key); with them (N = 2), also one ML-KEM-768 key
    // generation, one encapsulation and one decapsulation.
    let peer = X25519.PrivateKey().publicKey
    Benchmark(
        "X25519 4 DH + 2 key generations (a round trip's floor)",
        configuration: configuration(.one, maxIterations: 50_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            for _ in 0..<2 {
                let key = X25519.PrivateKey(using: SystemRandom())
                blackHole(try! key.sharedSecret(with: peer))
                blackHole(try! key.sharedSecret(with: peer))
            }
        }
    }

    Benchmark(
        "ML-KEM-768 key generation + encapsulation + decapsulation (one KEM step)",
        configuration: configuration(.one, maxIterations: 50_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let key = MLKEM.PrivateKey(using: SystemRandom())
            let sent = key.publicKey.encapsulate()
            blackHole(try! key.decapsulate(sent.ciphertext))
        }
    }


    let aeadKey = XChaCha20Poly1305.Key(using: SystemRandom())
    let aeadNonce = SystemRandom().bytes(XChaCha20Poly1305.nonceByteCount)
    Benchmark(
        "XChaCha20-Poly1305 seal+open 1 KiB (ProtonCrypto)",
        configuration: configuration(.kilo, maxIterations: 10_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let sealed = try! XChaCha20Poly1305.seal(
                plaintext, using: aeadKey, nonce: aeadNonce, authenticating: associatedData)
            let opened = try! XChaCha20Poly1305.open(
                sealed, using: aeadKey, nonce: aeadNonce, authenticating: associatedData)
            blackHole(opened)
        }
    }

    // The same seal+open straight through libsodium into reused buffers: what the AEAD costs
    // without ProtonCrypto's array allocations and checks. (CSodium is the main package's
    // system-library module, visible here through ProtonCrypto.)
    let rawKey = SystemRandom().bytes(Int(crypto_aead_xchacha20poly1305_ietf_keybytes()))
    let rawSealed = Box([UInt8](repeating: 0, count: messageByteCount + XChaCha20Poly1305.tagByteCount))
    let rawOpened = Box([UInt8](repeating: 0, count: messageByteCount))
    Benchmark(
        "XChaCha20-Poly1305 seal+open 1 KiB (libsodium direct)",
        configuration: configuration(.kilo, maxIterations: 10_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            var sealedLength: UInt64 = 0
            var openedLength: UInt64 = 0
            let sealStatus = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &rawSealed.value, &sealedLength, plaintext, UInt64(plaintext.count),
                associatedData, UInt64(associatedData.count), nil, aeadNonce, rawKey)
            let openStatus = crypto_aead_xchacha20poly1305_ietf_decrypt(
                &rawOpened.value, &openedLength, nil, rawSealed.value, sealedLength,
                associatedData, UInt64(associatedData.count), aeadNonce, rawKey)
            precondition(sealStatus == 0 && openStatus == 0 && openedLength == UInt64(messageByteCount))
            blackHole(rawOpened.value)
        }
    }

    let ikm = SecureBytes(SystemRandom().bytes(32))
    let salt = SystemRandom().bytes(32)
    let info = Array("Proton benchmark HKDF".utf8)
    Benchmark(
        "HKDF-SHA-256 32 B ikm, 32 B salt -> 96 B",
        configuration: configuration(.kilo, maxIterations: 10_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let okm = try! HKDF.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: 96)
            blackHole(okm)
        }
    }

    // Not a target, a diagnostic: one HMAC-SHA-256 of one byte under a 32-byte key, the step
    // KDF_CK takes twice per message. HKDF above is four of them (extract + three expand blocks)
    // plus the glue; Proton's per-message key derivation (56 bytes) is three.
    let chainKey = SecureBytes(SystemRandom().bytes(32))
    let constant: [UInt8] = [0x01]
    Benchmark(
        "HMAC-SHA-256 1 B under 32 B key (ProtonCrypto)",
        configuration: configuration(.kilo, maxIterations: 10_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(HMACSHA256.authenticationCode(for: constant, using: chainKey))
        }
    }
}
