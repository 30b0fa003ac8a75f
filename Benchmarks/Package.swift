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
        // For the service benchmarks: a bare Hummingbird endpoint to compare with, and the HTTP
        // client that drives both. The same versions as the main package.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // For filling a receiving service's database with a million rows in large transactions,
        // and the durable bare endpoint on SQLite.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The durable bare endpoint on PostgreSQL, and filling a PostgreSQL receiving service.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COlm",
            pkgConfig: "olm",
            providers: [.apt(["libolm-dev"])]
        ),
        // The endpoints both executables start (bare, durable) and the benchmark cluster's databases.
        .target(
            name: "BenchmarkEndpoints",
            dependencies: [
                .product(name: "ProtonCore", package: "Proton"),
                .product(name: "ProtonCrypto", package: "Proton"),
                .product(name: "ProtonServices", package: "Proton"),
                .product(name: "ProtonAgents", package: "Proton"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Endpoints"
        ),
        .executableTarget(
            name: "ProtonBenchmarks",
            dependencies: [
                "COlm",
                "BenchmarkEndpoints",
                .product(name: "ProtonCrypto", package: "Proton"),
                .product(name: "ProtonCore", package: "Proton"),
                .product(name: "ProtonServices", package: "Proton"),
                .product(name: "ProtonAgents", package: "Proton"),
                .product(name: "ProtonPairing", package: "Proton"),
                .product(name: "ProtonQR", package: "Proton"),
                .product(name: "ProtonDirectory", package: "Proton"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "ProtonBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        // Not a `swift package benchmark` target: one long run that fills a receiving service
        // with 1,000,000 queued messages and prints its resident memory as it goes. `make bench`
        // runs it after the benchmarks.
        .executableTarget(
            name: "ReceivingMemory",
            dependencies: [
                "BenchmarkEndpoints",
                .product(name: "ProtonCore", package: "Proton"),
                .product(name: "ProtonCrypto", package: "Proton"),
                .product(name: "ProtonServices", package: "Proton"),
                .product(name: "ProtonAgents", package: "Proton"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ProtonDirectory", package: "Proton"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "ReceivingMemory"
        ),
    ]
)
