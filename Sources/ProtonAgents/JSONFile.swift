import Foundation
import ProtonStore

/// The agents' small JSON files in the profile directory: written whole to a temporary file
/// and renamed into place, so a crash leaves the old file or the new one, never half of one;
/// readable by the owner alone, because they describe whom we talk through.
public enum JSONFile {
    public static func read<T: Decodable>(_ type: T.Type, at url: URL) throws(AgentError) -> T? {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            if !FileManager.default.fileExists(atPath: url.path) { return nil }
            throw .configuration(path: url.path, reason: "it could not be read")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(type, from: data) } catch {
            throw .configuration(path: url.path, reason: "it is not valid JSON of the expected shape")
        }
    }

    public static func write(_ value: some Encodable, to url: URL) throws(AgentError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try encoder.encode(value) } catch {
            throw .configuration(path: url.path, reason: "it could not be encoded")
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        if let failure = writeDurably(data, to: temporary.path) {
            unlink(temporary.path)
            throw .configuration(path: url.path, reason: failure == ENOSPC ? "the disk is full" : "it could not be written (\(String(cString: strerror(failure))))")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let failure = errno
            unlink(temporary.path)
            throw .configuration(path: url.path, reason: "it could not be replaced (\(String(cString: strerror(failure))))")
        }
        // The rename itself reaches the disk with the directory.
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// Writes `data` to a new owner-only file and flushes it to the disk before returning, so a
    /// power cut after the rename cannot leave an empty file in place. The errno on failure.
    private static func writeDurably(_ data: Data, to path: String) -> Int32? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        var failure: Int32?
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if let failure { return failure }
        return fsync(descriptor) == 0 ? nil : errno
    }
}

extension ProfileStore {
    /// The stored document decoded, or nil when there is none (`document(_:)` takes in an
    /// earlier version's file first). A store failure is thrown as the store's error.
    public func decodedDocument<T: Decodable>(_ type: T.Type, _ name: Document) throws -> T? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let legacy = directory.appendingPathComponent(name.legacyFileName).path
        // An earlier version's file is taken in only if it decodes; otherwise it stays, and
        // the error names the file to mend or remove.
        let data = try document(name) { data in
            guard (try? decoder.decode(type, from: data)) != nil else {
                throw AgentError.configuration(path: legacy, reason: "it is not valid JSON of the expected shape")
            }
        }
        guard let data else { return nil }
        do { return try decoder.decode(type, from: data) } catch {
            throw AgentError.configuration(path: "the \(name.rawValue) stored in the profile", reason: "it is not valid JSON of the expected shape")
        }
    }

    /// Stores `value` as the document, encoded as the files were.
    public func saveEncodedDocument(_ value: some Encodable, as name: Document) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try encoder.encode(value) } catch {
            throw AgentError.configuration(path: "the \(name.rawValue) stored in the profile", reason: "it could not be encoded")
        }
        try saveDocument(name, data)
    }
}
