// swift-tools-version:6.0
import PackageDescription

// The libFuzzer driver: one executable whose target is chosen by PROTON_FUZZ_TARGET. Kept out of
// the main package's build: it is built with -sanitize=fuzzer,address by `make fuzz` and
// `make fuzz-smoke` (see docs/reliability.md).
let package = Package(
    name: "ProtonFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Proton", path: "..")],
    targets: [
        .executableTarget(
            name: "ProtonFuzz",
            dependencies: [.product(name: "ProtonFuzzTargets", package: "Proton")]
        )
    ]
)
