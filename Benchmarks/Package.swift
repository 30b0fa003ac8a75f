// swift-tools-version: 6.1
// Benchmarks for Proton, kept in a package of their own so that the product never depends on
// the benchmark harness or on libolm. Run from the repository root with `make bench`.
import PackageDescription

let package = Package(
    name: "ProtonBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The main package, by path. `name:` pins the identity to "Proton" whatever the clone's
        // directory is called.
        .package(name: "Proton", path: "../"),
        // Traits: the default set also enables "RuntimeInterposer", which on Linux with Swift 6.3
        // pulls in ordo-one/swift-runtime-interposer — not in the local package mirror. The
        // malloc interposer is left off as well: these benchmarks measure time and throughput
        // only, and the interposer's per-allocation header would tax the Swift code (many small
        // allocations) more than libolm (caller-provided buffers).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: []),
    ],
    targets: [
        .systemLibrary(
            name: "COlm",
            pkgConfig: "olm",
            providers: [.apt(["libolm-dev"])]
        ),
        .executableTarget(
            name: "ProtonBenchmarks",
            dependencies: [
                "COlm",
                .product(name: "ProtonCrypto", package: "Proton"),
                .product(name: "ProtonCore", package: "Proton"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "ProtonBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
