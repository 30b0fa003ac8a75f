import Foundation

/// Where the `proton` executable is, for the tests that run it as a process: `PROTON_CLI` if
/// set, else the one SwiftPM built beside the running test bundle, else `.build/debug/proton`.
public enum ProtonBinary {
    public struct NotBuilt: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "the executable \((path as NSString).lastPathComponent) was not built (looked for \(path))" }
    }

    public static func url() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["PROTON_CLI"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return try sibling("proton")
    }

    /// Another executable SwiftPM built beside the test bundle (e.g. `generate-manual`).
    public static func sibling(_ name: String) throws -> URL {
        let manager = FileManager.default
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            if manager.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let fallback = packageRoot.appendingPathComponent(".build/debug/\(name)")
        guard manager.isExecutableFile(atPath: fallback.path) else { throw NotBuilt(path: fallback.path) }
        return fallback
    }

    /// The package's root directory (this file is Tests/ProtonTestSupport/ProtonBinary.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
