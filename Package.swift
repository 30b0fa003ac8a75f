// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Proton",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ProtonCrypto", targets: ["ProtonCrypto"]),
        .library(name: "ProtonCore", targets: ["ProtonCore"]),
        .library(name: "ProtonStore", targets: ["ProtonStore"]),
        .library(name: "ProtonServices", targets: ["ProtonServices"]),
        .library(name: "ProtonAgents", targets: ["ProtonAgents"]),
        .library(name: "ProtonPairing", targets: ["ProtonPairing"]),
        .library(name: "ProtonQR", targets: ["ProtonQR"]),
        .library(name: "ProtonBluetooth", targets: ["ProtonBluetooth"]),
        .library(name: "ProtonDirectory", targets: ["ProtonDirectory"]),
        // What an application needs: a profile and every step a client takes with it.
        .library(name: "ProtonClient", targets: ["ProtonClient"]),
        .executable(name: "proton", targets: ["proton"]),
        // The parsers under fuzzing, for the libFuzzer driver in Fuzz/ (kept out of this build).
        .library(name: "ProtonFuzzTargets", targets: ["ProtonFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        // Test-only: a client generated from docs/openapi.yaml calls the real services
        // (OpenAPIConformanceTests), so the spec and the code cannot drift apart.
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // ML-KEM (FIPS 203) for the post-quantum parts, and nothing else: every other primitive
        // is libsodium's. Already in the graph through the HTTP client.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // PostgreSQL storage for services that run as many instances on one database
        // (docs/deployment.md); SQLite stays the embedded default.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // /metrics in Prometheus's text format on the services' operator listener.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // `swift package generate-documentation --target ProtonClient` (docs/library.md).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CQREncode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        .systemLibrary(
            name: "CBlueZ",
            pkgConfig: "bluez",
            providers: [.apt(["libbluetooth-dev"])]
        ),
        .target(name: "ProtonCrypto", dependencies: ["CSodium", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "ProtonCore", dependencies: ["ProtonCrypto"]),
        .target(name: "ProtonPairing", dependencies: ["ProtonCore", "ProtonCrypto"]),
        // The one HTTP client path of the agents, the directory client and the forwarder.
        .target(
            name: "ProtonHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "ProtonQR", dependencies: ["CQREncode"]),
        .target(name: "ProtonBluetooth", dependencies: ["CBlueZ", "ProtonPairing"]),
        .target(
            name: "ProtonDirectory",
            dependencies: ["ProtonCore", "ProtonCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "ProtonStore",
            dependencies: ["ProtonCore", "ProtonCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "ProtonServices",
            dependencies: [
                "ProtonCore", "ProtonCrypto", "ProtonDirectory", "ProtonHTTP", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "ProtonAgents",
            dependencies: [
                "ProtonCore", "ProtonCrypto", "ProtonStore", "ProtonHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "ProtonClient",
            dependencies: [
                "ProtonCore", "ProtonCrypto", "ProtonStore", "ProtonAgents", "ProtonQR", "ProtonDirectory", "ProtonPairing", "ProtonHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "proton",
            dependencies: [
                "ProtonClient", "ProtonCore", "ProtonCrypto", "ProtonStore", "ProtonServices", "ProtonAgents", "ProtonPairing",
                "ProtonQR", "ProtonBluetooth", "ProtonDirectory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The five-minute example of docs/library.md, run by `make test`.
        .executableTarget(name: "TwoProfilesExample", dependencies: ["ProtonClient", "ProtonServices"], path: "Examples/TwoProfiles"),
        .target(name: "ProtonFuzzTargets", dependencies: ["ProtonCore", "ProtonCrypto", "ProtonPairing", "ProtonDirectory", "ProtonStore"]),
        // What several test targets share: running the `proton` binary and other processes.
        .target(name: "ProtonTestSupport", path: "Tests/ProtonTestSupport"),
        .testTarget(name: "ProtonCryptoTests", dependencies: ["ProtonCrypto"]),
        .testTarget(name: "ProtonCoreTests", dependencies: ["ProtonCore", "ProtonCrypto"]),
        .testTarget(name: "ProtonFuzzRegressionTests", dependencies: ["ProtonFuzzTargets"]),
        .testTarget(name: "ProtonPairingTests", dependencies: ["ProtonPairing", "ProtonCore", "ProtonCrypto"]),
        .testTarget(
            name: "ProtonStoreTests",
            dependencies: ["ProtonStore", "ProtonCore", "ProtonCrypto", "ProtonTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "ProtonServicesTests",
            dependencies: [
                "ProtonTestSupport", "ProtonServices", "ProtonCore", "ProtonCrypto", "ProtonHTTP", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "OpenAPIConformanceTests",
            dependencies: [
                "ProtonCore", "ProtonCrypto", "ProtonServices", .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .testTarget(
            name: "ProtonClientTests",
            dependencies: [
                "ProtonTestSupport", "ProtonClient", "ProtonAgents", "ProtonServices", "ProtonStore", "ProtonCore", "ProtonCrypto", "ProtonPairing",
            ]
        ),
        .testTarget(
            name: "ProtonAgentsTests",
            dependencies: [
                "ProtonTestSupport", "ProtonAgents", "ProtonServices", "ProtonStore", "ProtonCore", "ProtonCrypto",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The only test target that depends on the executable: it makes `swift test` build the
        // `proton` binary, which the other targets run as a process (ProtonBinary).
        .testTarget(name: "ProtonCLITests", dependencies: ["ProtonTestSupport", "proton", "ProtonStore", "ProtonCore", "ProtonCrypto"]),
        .testTarget(
            name: "ProtonQRTests",
            dependencies: [
                "ProtonTestSupport", "ProtonQR", "ProtonCore", "ProtonCrypto", "ProtonStore", "ProtonAgents", "ProtonServices", "ProtonDirectory",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ProtonBluetoothTests",
            dependencies: ["ProtonTestSupport", "ProtonBluetooth", "ProtonPairing", "ProtonCore", "ProtonCrypto", "ProtonStore"]
        ),
        .testTarget(
            name: "ProtonDirectoryTests",
            dependencies: [
                "ProtonTestSupport", "ProtonDirectory", "ProtonClient", "ProtonServices", "ProtonCore", "ProtonCrypto", "ProtonStore",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
