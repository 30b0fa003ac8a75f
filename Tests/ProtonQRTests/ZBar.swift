import Foundation
import ProtonQR
import ProtonTestSupport
import Testing

/// zbarimg, the decoder the tests read QR images back with (scripts/bootstrap installs
/// zbar-tools). Tests that need it are skipped, saying why, where it is missing.
enum ZBar {
    static let zbarimg: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("zbarimg")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    static var isInstalled: Bool { zbarimg != nil }
    static let missing = "zbarimg is not installed (apt-get install zbar-tools; scripts/bootstrap does it)"

    /// Writes `png` to a temporary file and returns what zbarimg reads from it.
    static func decode(png: [UInt8]) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ProtonQRTests-\(UUID().uuidString).png")
        try Data(png).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await decode(file: file)
    }

    static func decode(file: URL) async throws -> String {
        let executable: URL = try #require(zbarimg)
        let process = ChildProcess()
        process.executableURL = executable
        process.arguments = ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        // zbarimg prints one short line: the pipe cannot fill before it exits.
        try await process.runUntilExit()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        try #require(process.terminationStatus == 0, "zbarimg found no code (exit \(process.terminationStatus))")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
}
