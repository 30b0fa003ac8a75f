import Foundation

/// `proton serve …` as a child process, as an operator starts it.
public enum ProtonServe {
    /// The first line was not `listening on http://127.0.0.1:PORT`.
    public struct NotListening: Error, CustomStringConvertible {
        public let printed: String
        public var description: String { "proton serve printed \(printed)" }
    }

    /// Runs `proton ARGUMENTS` (standard error discarded) and waits for the first line it
    /// prints, `listening on URL` once bound; returns the process and the URL.
    public static func start(_ arguments: [String]) throws -> (process: ChildProcess, url: String) {
        let process = ChildProcess()
        process.executableURL = try ProtonBinary.url()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line: [UInt8] = []
        let reader = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        let text = String(decoding: line.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        guard text.hasPrefix("listening on http://127.0.0.1:") else {
            process.terminate()
            throw NotListening(printed: text)
        }
        return (process, String(text.dropFirst("listening on ".count)))
    }
}
