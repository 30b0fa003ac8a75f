import ArgumentParser
import Foundation
import ProtonQR

#if canImport(Glibc)
    import Glibc
#endif

/// How `proton invite` and `proton accept --offline` show a QR code: half blocks on a UTF-8
/// terminal, ASCII on another, only the text when stdout is not a terminal (unless asked), and
/// optionally a PNG for printing.
struct QRPresentationOptions: ParsableArguments {
    @Flag(help: "Draw dark modules in the foreground colour, for terminals with a light background.")
    var invert = false

    @Flag(help: "Draw the QR code with '#' characters, for terminals that cannot show UTF-8 (default: decided from LC_ALL, LC_CTYPE, LANG).")
    var ascii = false

    @Flag(help: "Print the QR code even when standard output is not a terminal.")
    var qr = false

    @Option(help: ArgumentHelp("Also write the QR code as a PNG image to this file.", valueName: "file"))
    var png: String?

    @Option(help: ArgumentHelp("Pixels per module in the PNG image.", valueName: "pixels"))
    var scale: Int = 8

    func validate() throws {
        guard (1...PNGWriter.maximumScale).contains(scale) else {
            throw ValidationError("--scale must be between 1 and \(PNGWriter.maximumScale).")
        }
    }

    var style: TerminalRendering.Style {
        ascii || !TerminalRendering.localeIsUTF8(environment: ProcessInfo.processInfo.environment) ? .ascii : .halfBlocks
    }

    /// Whether the code is drawn on stdout.
    var drawsCode: Bool { qr || isatty(STDOUT_FILENO) == 1 }

    /// Encodes `text`, refusing above `maximumVersion`, before anything is stored.
    static func encode(_ text: String, maximumVersion: Int, what: String) throws -> QRCode {
        do {
            return try QRCode.encode(alphanumeric: text, maximumVersion: maximumVersion)
        } catch {
            throw CommandFailure(status: .dataError, message: "The \(what) does not fit in a QR code: \(error).")
        }
    }

    /// Writes the PNG (if asked); the file is replaced atomically.
    func writeImage(_ code: QRCode) throws {
        guard let png else { return }
        let bytes: [UInt8]
        do { bytes = try PNGWriter.encode(code.withQuietZone(4), scale: scale) } catch {
            throw CommandFailure(status: .usage, message: "\(error)".sentence)
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: png), options: .atomic)
        } catch {
            throw CommandFailure(status: .cannotCreate, message: "Could not write \(png): \(error.localizedDescription)".sentence)
        }
    }

    func render(_ code: QRCode) -> String {
        warnIfTooWide(code)
        return TerminalRendering.render(code, style: style, invert: invert)
    }

    /// A code cut off at the terminal's edge cannot be scanned: say so rather than let it wrap.
    private func warnIfTooWide(_ code: QRCode) {
        var size = winsize()
        guard isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return }
        let columns = (code.size + 8) * (style == .ascii ? 2 : 1)
        guard columns > Int(size.ws_col) else { return }
        FileHandle.standardError.write(
            Data("proton: The QR code is \(columns) columns wide and the terminal \(size.ws_col); widen the window or write an image with --png FILE.\n".utf8))
    }
}

/// Where `proton accept` reads a QR payload from: the argument, an image, the camera, or stdin.
struct QRInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The text under the QR code; read from standard input when left out.", valueName: "text"))
    var text: String?

    @Option(help: ArgumentHelp("Read the QR code from an image file (needs zbarimg from zbar-tools).", valueName: "file"))
    var image: String?

    @Flag(help: "Read the QR code with the camera (needs zbarcam from zbar-tools).")
    var camera = false

    /// More than any invite or reply: a paste this long is not one.
    static let maximumTextLength = 8_192

    func validate() throws {
        guard [text != nil, image != nil, camera].filter({ $0 }).count <= 1 else {
            throw ValidationError("Give the text, --image FILE or --camera, not more than one.")
        }
    }

    /// The payload text, trimmed.
    func read(prompt: String) throws -> String {
        let raw: String
        if let text {
            raw = text
        } else if let image {
            guard FileManager.default.isReadableFile(atPath: image) else {
                throw CommandFailure(status: .noInput, message: "Cannot read the image \(image).")
            }
            raw = try Self.zbar("zbarimg", arguments: ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", image], what: "an image")
        } else if camera {
            raw = try Self.zbar("zbarcam", arguments: ["--raw", "-1", "--nodisplay", "-Sdisable", "-Sqrcode.enable"], what: "the camera")
        } else {
            if isatty(STDIN_FILENO) == 1 { FileHandle.standardError.write(Data("\(prompt)\n".utf8)) }
            raw = try Self.readStandardInput()
        }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw CommandFailure(status: .usage, message: "There is nothing to read: give the text, --image FILE or --camera.")
        }
        guard trimmed.count <= Self.maximumTextLength else {
            throw CommandFailure(status: .dataError, message: "The text is \(trimmed.count) characters long, longer than any invite or reply.")
        }
        return trimmed
    }

    private static func readStandardInput() throws -> String {
        var data = Data()
        // Up to a line's end for a person pasting, all of it for a pipe; never unbounded.
        let interactive = isatty(STDIN_FILENO) == 1
        while data.count <= maximumTextLength {
            let chunk = FileHandle.standardInput.readData(ofLength: interactive ? 1 : 4_096)
            if chunk.isEmpty { break }
            data += chunk
            if interactive, chunk.first == UInt8(ascii: "\n"), !data.allSatisfy({ $0 == 0x0A || $0 == 0x20 }) { break }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs a zbar tool found on PATH and returns the first code it read.
    static func zbar(_ tool: String, arguments: [String], what: String) throws -> String {
        guard let executable = findOnPath(tool) else {
            throw CommandFailure(
                status: .unavailable,
                message: "Reading a QR code from \(what) needs \(tool), which is not installed; install it with 'apt-get install zbar-tools', or paste the text under the QR code instead.")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw CommandFailure(status: .unavailable, message: "Could not run \(executable.path): \(error.localizedDescription)".sentence)
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let first = String(decoding: data.prefix(maximumTextLength + 2), as: UTF8.self)
            .split(separator: "\n").first.map(String.init) ?? ""
        guard process.terminationStatus == 0, !first.isEmpty else {
            throw CommandFailure(
                status: .dataError,
                message: "\(tool) found no QR code in \(what) (exit status \(process.terminationStatus)); try a sharper image, or paste the text under the code.")
        }
        return first
    }

    static func findOnPath(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
