import Foundation

/// The agents' small JSON files in the profile directory: written whole to a temporary file
/// and renamed into place, so a crash leaves the old file or the new one, never half of one;
/// readable by the owner alone, because they describe whom we talk through.
enum JSONFile {
    static func read<T: Decodable>(_ type: T.Type, at url: URL) throws(AgentError) -> T? {
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

    static func write(_ value: some Encodable, to url: URL) throws(AgentError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        do {
            let data = try encoder.encode(value)
            guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            guard rename(temporary.path, url.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .configuration(path: url.path, reason: "it could not be written")
        }
    }
}
