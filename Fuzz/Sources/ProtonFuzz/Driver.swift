import Foundation
import ProtonFuzzTargets

#if canImport(Glibc)
    import Glibc
#endif

// libFuzzer calls LLVMFuzzerInitialize once, then LLVMFuzzerTestOneInput for every input.
//
//   PROTON_FUZZ_TARGET=NAME ProtonFuzz [libFuzzer options] CORPUS...   fuzz one target
//                                                                       (PROTON_FUZZ_CORPUS=DIR: this
//                                                                       process's seeds into DIR first)
//   PROTON_FUZZ_SEEDS=DIR ProtonFuzz                                    write every target's seeds
//                                                                       to DIR/NAME/ and exit
//   PROTON_FUZZ_LIST=1 ProtonFuzz                                       print the targets and exit

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let environment = ProcessInfo.processInfo.environment
    if environment["PROTON_FUZZ_LIST"] != nil {
        for target in FuzzTargets.all { print("\(target.name)\t\(target.summary)") }
        exit(0)
    }
    if let directory = environment["PROTON_FUZZ_SEEDS"] {
        for target in FuzzTargets.all {
            let folder = URL(fileURLWithPath: directory).appendingPathComponent(target.name)
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (index, seed) in target.seeds().enumerated() {
                try? Data(seed).write(to: folder.appendingPathComponent("seed-\(index)"))
            }
        }
        exit(0)
    }
    guard let name = environment["PROTON_FUZZ_TARGET"], let target = FuzzTargets.named(name) else {
        let names = FuzzTargets.all.map(\.name).joined(separator: " ")
        FileHandle.standardError.write(Data("set PROTON_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    selected = target
    // Build the fixed keys and recordings now, not inside the first timed input.
    let seeds = target.seeds()
    // This process's seeds into the corpus (read after this returns): a pairing replay holds one
    // ML-KEM encapsulation per key for the life of the process, so a seed another process
    // recorded (another encapsulation) would be refused at the first frame it depends on.
    if let corpus = environment["PROTON_FUZZ_CORPUS"] {
        for (index, seed) in seeds.enumerated() {
            try? Data(seed).write(to: URL(fileURLWithPath: corpus).appendingPathComponent("seed-\(index)"))
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try selected!.run(input)
    } catch {
        fatalError("property broken: \(error)")
    }
    return 0
}

// A debug build of an executable target renames `main` to `ProtonFuzz_main` (SwiftPM links it
// as main so that tests could import the executable); with -parse-as-library there is none, so
// this one hands over to libFuzzer's driver. A release build links libFuzzer's own main.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("ProtonFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, testOneInput)
}
