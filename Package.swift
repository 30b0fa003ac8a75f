// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Proton",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ProtonCrypto", targets: ["ProtonCrypto"]),
        .library(name: "ProtonCore", targets: ["ProtonCore"]),
        .library(name: "ProtonStore", targets: ["ProtonStore"]),
        .executable(name: "proton", targets: ["proton"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .target(name: "ProtonCrypto", dependencies: ["CSodium"]),
        .target(name: "ProtonCore", dependencies: ["ProtonCrypto"]),
        .target(
            name: "ProtonStore",
            dependencies: ["ProtonCore", "ProtonCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .executableTarget(
            name: "proton",
            dependencies: [
                "ProtonCore", "ProtonCrypto", "ProtonStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ProtonCryptoTests", dependencies: ["ProtonCrypto"]),
        .testTarget(name: "ProtonCoreTests", dependencies: ["ProtonCore", "ProtonCrypto"]),
        .testTarget(
            name: "ProtonStoreTests",
            dependencies: ["ProtonStore", "ProtonCore", "ProtonCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "ProtonCLITests", dependencies: ["proton", "ProtonStore", "ProtonCore", "ProtonCrypto"]),
    ],
    swiftLanguageModes: [.v6]
)
