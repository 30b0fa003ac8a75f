import Foundation
import Glibc
import GRDB

/// Small documents a profile keeps whole, each read and written in one piece: the services
/// (`ServicesConfiguration`, ProtonAgents) and the directory trust state (`DirectoryTrust`,
/// ProtonClient), as the JSON their owners encode. They were files beside the database
/// (services.json, directories.json) until format 3.
extension ProfileStore {
    public enum Document: String, Sendable, CaseIterable {
        case services
        case directoryTrust = "directory trust"

        /// The file an earlier version kept this document in, beside the database.
        public var legacyFileName: String {
            switch self {
            case .services: "services.json"
            case .directoryTrust: "directories.json"
            }
        }
    }

    /// The largest document taken in or stored (a directory trust state holds at most 10,000
    /// attestation bundles of a few kilobytes each).
    public static let maximumDocumentByteCount = 64 << 20

    /// The stored document, or nil when there is none. An earlier version's file beside the
    /// database is taken in first, once and in a transaction, but only when `validate` accepts
    /// its bytes: a file that does not (damaged, edited by hand) stays where it is and
    /// `validate`'s error is thrown, so that it can be mended or removed as before. When a
    /// document is stored already, the file is not taken in but kept, renamed with
    /// `.superseded`. A profile opened for reading only reads the file without taking it in.
    public func document(_ name: Document, validate: (Data) throws -> Void = { _ in }) throws -> Data? {
        let legacy = directory.appendingPathComponent(name.legacyFileName)
        if let data = try Self.readLegacy(legacy) {
            if isReadOnly {
                if let stored = try storedDocument(name) { return stored }
                try validate(data)
                return data
            }
            try validate(data)
            let alreadyStored = try transaction { tx -> Bool in
                if try Self.fetchDocument(name, tx.db) != nil { return true }
                try Self.write(name, data, tx.db)
                return false
            }
            if alreadyStored {
                let kept = legacy.appendingPathExtension("superseded")
                try? FileManager.default.removeItem(at: kept)
                try? FileManager.default.moveItem(at: legacy, to: kept)
            } else {
                try? FileManager.default.removeItem(at: legacy)
            }
        }
        return try storedDocument(name)
    }

    /// Replaces the document.
    public func saveDocument(_ name: Document, _ data: Data) throws {
        guard data.count <= Self.maximumDocumentByteCount else {
            throw StoreError.corrupt(what: "the \(name.rawValue) document (\(data.count) bytes, more than \(Self.maximumDocumentByteCount))")
        }
        try transaction { tx in try Self.write(name, data, tx.db) }
    }

    private func storedDocument(_ name: Document) throws -> Data? {
        try read { db in try Self.fetchDocument(name, db) }
    }

    private static func fetchDocument(_ name: Document, _ db: Database) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT value FROM documents WHERE name = ?", arguments: [name.rawValue])
    }

    private static func write(_ name: Document, _ data: Data, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO documents (name, value, updated) VALUES (?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated
                """, arguments: [name.rawValue, data, Date()])
    }

    /// The file's bytes, or nil when there is none. Only a regular file is read, through one
    /// descriptor opened without following a link and without blocking (a link or a FIFO
    /// planted in the profile directory is refused, never followed or waited on), and at most
    /// `maximumDocumentByteCount` bytes of it.
    static func readLegacy(_ url: URL) throws -> Data? {
        let descriptor = Glibc.open(url.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { return nil }
            let why = code == ELOOP ? "it is a symbolic link" : String(cString: strerror(code))
            throw StoreError.corrupt(what: "\(url.path) (cannot be read: \(why))")
        }
        defer { _ = Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw StoreError.corrupt(what: "\(url.path) (not a regular file)")
        }
        let limit = maximumDocumentByteCount
        guard status.st_size <= limit else {
            throw StoreError.corrupt(what: "\(url.path) (\(status.st_size) bytes, more than \(limit))")
        }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let done = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, limit + 1 - count) }
            if done < 0 {
                if errno == EINTR { continue }
                throw StoreError.corrupt(what: "\(url.path) (cannot be read: \(String(cString: strerror(errno))))")
            }
            if done == 0 { break }
            count += done
        }
        guard count <= limit else { throw StoreError.corrupt(what: "\(url.path) (more than \(limit) bytes)") }
        return Data(bytes[..<count])
    }
}
